"""征集调查: surveys and solicitations with a window, one response per session/phone/account,
published results (free text masked, and only for questions chosen) and the adoption report."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from common.errors import Conflict, NotFound, Unprocessable
from common.identity import Actor
from services.interaction.context import Ctx
from services.interaction.masking import mask_text
from services.interaction.models import Survey, SurveyResponse
from services.interaction.schemas import AdoptionReport, SurveyAnswer, SurveyIn


def phase(survey: Survey, ctx: Ctx) -> str:
    """draft → scheduled → open → closed → result_published (the window decides the middle)."""
    if survey.status == "draft":
        return "draft"
    if survey.result_published:
        return "result_published"
    now = ctx.now()
    if now < aware(survey.opens_at):
        return "scheduled"
    return "open" if now < aware(survey.closes_at) else "closed"


def aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def create(ctx: Ctx, actor: Actor, data: SurveyIn) -> Survey:
    actor.require_role("office", "admin")
    survey = Survey(
        id=uuid.uuid4().hex,
        title=data.title,
        description=data.description,
        kind=data.kind,
        department=data.department,
        questions=[q.model_dump() for q in data.questions],
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        one_per=data.one_per,
        created_by=actor.id,
        created_at=ctx.now(),
    )
    ctx.session.add(survey)
    return survey


async def get(ctx: Ctx, survey_id: str, public: bool = True) -> Survey:
    survey = await ctx.session.get(Survey, survey_id)
    if survey is None or (public and survey.status == "draft"):
        raise NotFound("没有该征集调查", field="id")
    return survey


def view(survey: Survey, ctx: Ctx) -> dict[str, Any]:
    data = survey.model_dump(mode="json", exclude={"created_by"})
    data["phase"] = phase(survey, ctx)
    return data


def respondent_key(survey: Survey, answer: SurveyAnswer, actor: Actor | None) -> str:
    """The identity one response is allowed per, hashed: session, phone or account."""
    source = {
        "session": answer.session_id,
        "phone": answer.phone,
        "account": actor.id if actor else None,
    }[survey.one_per]
    if not source:
        field = {"session": "session_id", "phone": "phone", "account": "account"}[survey.one_per]
        raise Unprocessable("缺少参与者标识", field=field)
    return hashlib.sha256(f"{survey.id}:{source}".encode()).hexdigest()


def _check_answers(survey: Survey, answers: dict[str, Any]) -> None:
    questions = {q["id"]: q for q in survey.questions}
    for key in answers:
        if key not in questions:
            raise Unprocessable(f"没有问题 {key}", field=f"answers.{key}")
    for qid, q in questions.items():
        value = answers.get(qid)
        if value in (None, "", []):
            if q["required"]:
                raise Unprocessable("必答题", field=f"answers.{qid}")
            continue
        ok = _fits(q, value)
        if not ok:
            raise Unprocessable("答案不符合题型", field=f"answers.{qid}")


def _fits(question: dict[str, Any], value: Any) -> bool:
    options = question["options"]
    kind = question["type"]
    if kind == "single":
        return isinstance(value, str) and value in options
    if kind == "multiple":
        return isinstance(value, list) and bool(value) and all(x in options for x in value)
    if kind == "text":
        return isinstance(value, str) and len(value) <= 5000
    return isinstance(value, int) and 1 <= value <= 5


async def respond(
    ctx: Ctx, survey_id: str, answer: SurveyAnswer, actor: Actor | None
) -> SurveyResponse:
    survey = await get(ctx, survey_id)
    if phase(survey, ctx) != "open":
        raise Conflict("不在征集时间内", field="id")
    _check_answers(survey, answer.answers)
    response = SurveyResponse(
        survey_id=survey.id,
        respondent_key=respondent_key(survey, answer, actor),
        answers=answer.answers,
        at=ctx.now(),
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(response)
            await ctx.session.flush()
    except IntegrityError as error:
        raise Conflict("您已经参与过", field=survey.one_per) from error
    return response


async def results(ctx: Ctx, survey: Survey) -> dict[str, Any]:
    """Counts per option, average ratings; free text only where chosen, and masked."""
    query = select(col(SurveyResponse.answers)).where(col(SurveyResponse.survey_id) == survey.id)
    rows = list((await ctx.session.exec(query)).all())
    out = []
    for q in survey.questions:
        values: list[Any] = [r.get(q["id"]) for r in rows if r.get(q["id"]) not in (None, "", [])]
        item: dict[str, Any] = {
            "id": q["id"],
            "text": q["text"],
            "type": q["type"],
            "answered": len(values),
        }
        if q["type"] in ("single", "multiple"):
            counts = Counter(x for v in values for x in (v if isinstance(v, list) else [v]))
            item["counts"] = {o: counts.get(o, 0) for o in q["options"]}
        elif q["type"] == "rating":
            item["average"] = round(sum(values) / len(values), 2) if values else None
        elif q.get("publish_text"):
            item["texts"] = [mask_text(v) for v in values]
        out.append(item)
    return {
        "survey": survey.id,
        "received": len(rows),
        "questions": out,
        "adoption": survey.adoption,
    }


async def visible_results(ctx: Ctx, survey_id: str, actor: Actor | None) -> dict[str, Any]:
    """Results and adoption report: public once published, the office's any time."""
    survey = await get(ctx, survey_id, public=False)
    if not survey.result_published and not (actor and actor.has_role("office", "admin")):
        raise Unprocessable("结果尚未公布", field="id")
    return await results(ctx, survey)


async def publish(ctx: Ctx, actor: Actor, survey_id: str) -> Survey:
    actor.require_role("office", "admin")
    survey = await get(ctx, survey_id, public=False)
    survey.status = "published"
    ctx.session.add(survey)
    return survey


async def publish_result(ctx: Ctx, actor: Actor, survey_id: str, report: AdoptionReport) -> Survey:
    """Close the loop: how many opinions were received and adopted, and why others were not."""
    actor.require_role("office", "admin")
    survey = await get(ctx, survey_id, public=False)
    if phase(survey, ctx) != "closed":
        raise Conflict("征集结束后才能公布结果", field="id")
    received = len(
        (
            await ctx.session.exec(
                select(col(SurveyResponse.id)).where(col(SurveyResponse.survey_id) == survey.id)
            )
        ).all()
    )
    if report.adopted > received:
        raise Unprocessable("采纳数不能多于收到数", field="adopted")
    survey.adoption = {
        "received": received,
        "adopted": report.adopted,
        "summary": mask_text(report.summary),
        "not_adopted_reasons": [mask_text(r) for r in report.not_adopted_reasons],
    }
    survey.result_published = True
    ctx.session.add(survey)
    return survey
