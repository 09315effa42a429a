"""HTTP routes of the knowledge base, surveys, interviews and statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from common.db import RowIdPath
from common.errors import Unprocessable
from common.identity import ActorDep, OptionalActorDep
from common.responses import cached_json_response, json_response
from services.interaction import interviews, knowledge, statistics, surveys
from services.interaction.deps import CtxDep
from services.interaction.schemas import (
    AdoptionReport,
    Answer,
    InterviewIn,
    InterviewQuestionIn,
    KnowledgeFromCase,
    KnowledgeIn,
    Moderation,
    SurveyAnswer,
    SurveyIn,
    Transcript,
)

router = APIRouter(prefix="/api/v1")


@router.get("/knowledge", tags=["knowledge"])
async def knowledge_search(
    ctx: CtxDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    department: str | None = None,
) -> Response:
    """Valid knowledge-base entries, by similarity to `q` (public)."""
    return json_response({"items": await knowledge.search(ctx, q, department)})


@router.post("/knowledge", status_code=201, tags=["knowledge"])
async def knowledge_create(body: KnowledgeIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Add an entry (office, handler)."""
    return json_response(knowledge.view(await knowledge.create(ctx, actor, body)), status_code=201)


@router.post("/knowledge/from-case/{number}", status_code=201, tags=["knowledge"])
async def knowledge_from_case(
    number: str, body: KnowledgeFromCase, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Turn a good reply into an entry, personal data masked (office, handler)."""
    return json_response(
        knowledge.view(await knowledge.from_case(ctx, actor, number, body)), status_code=201
    )


@router.post("/surveys", status_code=201, tags=["surveys"])
async def survey_create(body: SurveyIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Create a survey or solicitation as a draft (office)."""
    return json_response(surveys.view(await surveys.create(ctx, actor, body), ctx), status_code=201)


@router.post("/surveys/{survey_id}/publish", tags=["surveys"])
async def survey_publish(survey_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Publish a draft; it opens and closes with its window (office)."""
    return json_response(surveys.view(await surveys.publish(ctx, actor, survey_id), ctx))


@router.get("/surveys/{survey_id}", tags=["surveys"])
async def survey_get(survey_id: str, ctx: CtxDep) -> Response:
    """A published survey with its questions and phase (public)."""
    return json_response(surveys.view(await surveys.get(ctx, survey_id), ctx))


@router.post("/surveys/{survey_id}/responses", status_code=201, tags=["surveys"])
async def survey_respond(
    survey_id: str, body: SurveyAnswer, ctx: CtxDep, actor: OptionalActorDep
) -> Response:
    """Answer a survey, once per session / phone / account (public)."""
    if body.website:
        raise Unprocessable("提交被拒绝", field="website")
    response = await surveys.respond(ctx, survey_id, body, actor)
    return json_response(
        {"survey": survey_id, "received_at": response.at.isoformat()}, status_code=201
    )


@router.get("/surveys/{survey_id}/results", tags=["surveys"])
async def survey_results(survey_id: str, ctx: CtxDep, actor: OptionalActorDep) -> Response:
    """Results and adoption report; public once published, staff any time."""
    survey = await surveys.get(ctx, survey_id, public=False)
    if not survey.result_published and not (actor and actor.has_role("office", "admin")):
        raise Unprocessable("结果尚未公布", field="id")
    return json_response(await surveys.results(ctx, survey))


@router.post("/surveys/{survey_id}/result", tags=["surveys"])
async def survey_publish_result(
    survey_id: str, body: AdoptionReport, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Publish the result: received, adopted and why not (office)."""
    return json_response(
        surveys.view(await surveys.publish_result(ctx, actor, survey_id, body), ctx)
    )


@router.post("/interviews", status_code=201, tags=["interviews"])
async def interview_create(body: InterviewIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Announce an interview; questions are collected from now (office)."""
    interview = await interviews.create(ctx, actor, body)
    return json_response(await interviews.public_view(ctx, interview), status_code=201)


@router.get("/interviews/{interview_id}", tags=["interviews"])
async def interview_get(interview_id: str, ctx: CtxDep) -> Response:
    """The interview with approved questions and answers (public)."""
    return json_response(await interviews.public_view(ctx, await interviews.get(ctx, interview_id)))


@router.post("/interviews/{interview_id}/questions", status_code=201, tags=["interviews"])
async def interview_ask(interview_id: str, body: InterviewQuestionIn, ctx: CtxDep) -> Response:
    """Ask a question before or during the interview (public)."""
    if body.website:
        raise Unprocessable("提交被拒绝", field="website")
    question = await interviews.ask(ctx, interview_id, body)
    return json_response({"id": question.id, "state": question.state}, status_code=201)


@router.get("/interviews/{interview_id}/moderation", tags=["interviews"])
async def interview_queue(interview_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Every question with its state, for the moderators (office)."""
    actor.require_role("office", "admin")
    items = [
        q.model_dump(mode="json", exclude={"phone"})
        for q in await interviews.questions(ctx, interview_id)
    ]
    return json_response({"items": items})


@router.post("/interviews/{interview_id}/questions/{question_id}/moderation", tags=["interviews"])
async def interview_moderate(
    interview_id: str, question_id: RowIdPath, body: Moderation, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Approve, reject, merge or pick a question (office)."""
    question = await interviews.moderate(ctx, actor, interview_id, question_id, body)
    return json_response({"id": question.id, "state": question.state})


@router.post("/interviews/{interview_id}/questions/{question_id}/answer", tags=["interviews"])
async def interview_answer(
    interview_id: str, question_id: RowIdPath, body: Answer, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Record a guest's answer during the live interview (office, handler)."""
    question = await interviews.answer(
        ctx, actor, interview_id, question_id, body.guest, body.answer
    )
    return json_response({"id": question.id, "answer": question.answer})


@router.post("/interviews/{interview_id}/{transition}", tags=["interviews"])
async def interview_transition(
    interview_id: str, transition: str, ctx: CtxDep, actor: ActorDep, body: Transcript | None = None
) -> Response:
    """live | end | transcript (draft, masked) | transcript-approve (another office member)."""
    if transition in ("live", "end"):
        interview = await interviews.set_state(
            ctx, actor, interview_id, "live" if transition == "live" else "ended"
        )
        return json_response({"id": interview.id, "state": interview.state})
    if transition == "transcript":
        interview = await interviews.draft_transcript(
            ctx, actor, interview_id, body.text if body else None
        )
        return json_response(
            {"id": interview.id, "state": interview.state, "transcript": interview.transcript}
        )
    if transition == "transcript-approve":
        interview, cases = await interviews.approve_transcript(ctx, actor, interview_id)
        return json_response(
            {
                "id": interview.id,
                "state": interview.state,
                "submission_id": interview.submission_id,
                "cases": cases,
            }
        )
    raise Unprocessable("未知操作", field="transition")


@router.get("/statistics", tags=["statistics"])
async def public_statistics(
    request: Request,
    ctx: CtxDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    department: str | None = None,
) -> Response:
    """Received, accepted, replied, on time, average working days, satisfaction — with formulas."""
    if end < start or (end - start).days > 3660:
        raise Unprocessable("统计区间无效", field="to")
    return cached_json_response(
        request, await statistics.statistics(ctx, start, end, department), max_age=60
    )
