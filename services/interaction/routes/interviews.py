"""HTTP routes of online interviews (在线访谈)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.db import RowIdPath
from common.errors import Unprocessable
from common.identity import ActorDep
from common.responses import json_response
from services.interaction import interviews
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import (
    Answer,
    InterviewApprovedPublic,
    InterviewIn,
    InterviewPublic,
    InterviewQuestionIn,
    InterviewQuestionPublic,
    InterviewStatePublic,
    InterviewTranscriptPublic,
    Items,
    Moderation,
    QuestionAnswerPublic,
    QuestionStatePublic,
    Transcript,
)

router = APIRouter(prefix="/api/v1/interviews", tags=["interviews"])


@router.post("", status_code=201, response_model=InterviewPublic)
async def interview_create(body: InterviewIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Announce an interview; questions are collected from now (office)."""
    interview = await interviews.create(ctx, actor, body)
    return json_response(await interviews.public_view(ctx, interview), status_code=201)


@router.get("/{interview_id}", response_model=InterviewPublic)
async def interview_get(interview_id: str, ctx: CtxDep) -> Response:
    """The interview with approved questions and answers (public)."""
    return json_response(await interviews.public_view(ctx, await interviews.get(ctx, interview_id)))


@router.post("/{interview_id}/questions", status_code=201, response_model=QuestionStatePublic)
async def interview_ask(interview_id: str, body: InterviewQuestionIn, ctx: CtxDep) -> Response:
    """Ask a question before or during the interview (public)."""
    if body.website:
        raise Unprocessable("提交被拒绝", field="website")
    question = await interviews.ask(ctx, interview_id, body)
    return json_response({"id": question.id, "state": question.state}, status_code=201)


@router.get("/{interview_id}/moderation", response_model=Items[InterviewQuestionPublic])
async def interview_queue(interview_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Every question with its state, for the moderators (office)."""
    return json_response({"items": await interviews.moderation_queue(ctx, actor, interview_id)})


@router.post(
    "/{interview_id}/questions/{question_id}/moderation", response_model=QuestionStatePublic
)
async def interview_moderate(
    interview_id: str, question_id: RowIdPath, body: Moderation, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Approve, reject, merge or pick a question (office)."""
    question = await interviews.moderate(ctx, actor, interview_id, question_id, body)
    return json_response({"id": question.id, "state": question.state})


@router.post("/{interview_id}/questions/{question_id}/answer", response_model=QuestionAnswerPublic)
async def interview_answer(
    interview_id: str, question_id: RowIdPath, body: Answer, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Record a guest's answer during the live interview (office, handler)."""
    question = await interviews.answer(
        ctx, actor, interview_id, question_id, body.guest, body.answer
    )
    return json_response({"id": question.id, "answer": question.answer})


@router.post(
    "/{interview_id}/{transition}",
    response_model=InterviewApprovedPublic | InterviewTranscriptPublic | InterviewStatePublic,
)
async def interview_transition(
    interview_id: str, transition: str, ctx: CtxDep, actor: ActorDep, body: Transcript | None = None
) -> Response:
    """live | end | transcript (draft, masked) | transcript-approve (another office member)."""
    text = body.text if body else None
    return json_response(await interviews.transition(ctx, actor, interview_id, transition, text))
