"""在线访谈: announced with questions collected in advance, live moderation, guests' answers,
a reviewed and masked transcript handed to the library (`content.submitted`), and unanswered
substantive questions turned into cases."""

from __future__ import annotations

import html
import uuid
from typing import Any

from sqlmodel import col, select

from common.errors import Conflict, Forbidden, NotFound, Unprocessable
from common.events import ContentSubmitted
from common.identity import Actor
from common.lookup import get_or_404
from services.interaction.cases.intake import submit as submit_case
from services.interaction.context import Ctx
from services.interaction.masking import mask_text
from services.interaction.models import OUTBOX, Interview, InterviewQuestion
from services.interaction.schemas import (
    CaseSubmission,
    InterviewIn,
    InterviewQuestionIn,
    Moderation,
)

VISIBLE = ("approved", "picked")


async def create(ctx: Ctx, actor: Actor, data: InterviewIn) -> Interview:
    actor.require_role("office", "admin")
    interview = Interview(
        id=uuid.uuid4().hex,
        state="announced",
        created_by=actor.id,
        created_at=ctx.now(),
        **data.model_dump(),
    )
    ctx.session.add(interview)
    return interview


async def get(ctx: Ctx, interview_id: str) -> Interview:
    return await get_or_404(ctx.session, Interview, interview_id, detail="没有该访谈")


async def questions(ctx: Ctx, interview_id: str) -> list[InterviewQuestion]:
    query = (
        select(InterviewQuestion)
        .where(col(InterviewQuestion.interview_id) == interview_id)
        .order_by(col(InterviewQuestion.id))
    )
    return list((await ctx.session.exec(query)).all())


async def public_view(ctx: Ctx, interview: Interview) -> dict[str, Any]:
    """Approved questions (masked, no names) and answers; the transcript once published."""
    items = [
        {"id": q.id, "text": mask_text(q.text), "answer": q.answer, "state": q.state}
        for q in await questions(ctx, interview.id)
        if q.state in VISIBLE
    ]
    data = interview.model_dump(
        mode="json", exclude={"transcript", "created_by", "transcript_by", "approved_by"}
    )
    data["questions"] = items
    data["transcript"] = interview.transcript if interview.state == "published" else None
    return data


async def ask(ctx: Ctx, interview_id: str, data: InterviewQuestionIn) -> InterviewQuestion:
    interview = await get(ctx, interview_id)
    if interview.state not in ("announced", "live"):
        raise Conflict("访谈已结束，不再征集问题", field="id")
    question = InterviewQuestion(
        interview_id=interview.id,
        name=data.name or "",
        phone=data.phone or "",
        text=data.text,
        asked_at=ctx.now(),
    )
    ctx.session.add(question)
    await ctx.session.flush()
    return question


async def set_state(ctx: Ctx, actor: Actor, interview_id: str, to: str) -> Interview:
    actor.require_role("office", "admin")
    interview = await get(ctx, interview_id)
    allowed = {"live": "announced", "ended": "live"}
    if interview.state != allowed[to]:
        raise Conflict("访谈状态不允许此操作", field="state")
    interview.state = to
    ctx.session.add(interview)
    return interview


async def _question(ctx: Ctx, interview_id: str, question_id: int) -> InterviewQuestion:
    question = await ctx.session.get(InterviewQuestion, question_id)
    if question is None or question.interview_id != interview_id:
        raise NotFound("没有该问题", field="question_id")
    return question


async def moderate(
    ctx: Ctx, actor: Actor, interview_id: str, question_id: int, data: Moderation
) -> InterviewQuestion:
    """approve / reject / merge into another question / pick for the guests."""
    actor.require_role("office", "admin")
    question = await _question(ctx, interview_id, question_id)
    if data.action == "merge":
        if data.into is None or data.into == question_id:
            raise Unprocessable("请指明合并到哪个问题", field="into")
        await _question(ctx, interview_id, data.into)
        question.merged_into = data.into
    question.state = {
        "approve": "approved",
        "reject": "rejected",
        "merge": "merged",
        "pick": "picked",
    }[data.action]
    question.substantive = data.substantive
    ctx.session.add(question)
    return question


async def answer(
    ctx: Ctx, actor: Actor, interview_id: str, question_id: int, guest: str, text: str
) -> InterviewQuestion:
    actor.require_role("office", "admin", "handler")
    interview = await get(ctx, interview_id)
    if interview.state != "live":
        raise Conflict("访谈未在直播中", field="state")
    if guest not in interview.guests:
        raise Unprocessable("不是本场访谈的嘉宾", field="guest")
    question = await _question(ctx, interview_id, question_id)
    if question.state not in VISIBLE:
        raise Conflict("问题未通过审核", field="question_id")
    question.answer, question.answered_by, question.state = f"{guest}：{text}", actor.id, "picked"
    ctx.session.add(question)
    return question


async def draft_transcript(
    ctx: Ctx, actor: Actor, interview_id: str, text: str | None
) -> Interview:
    """The transcript from the answered questions (or the staff's text); always masked."""
    actor.require_role("office", "admin")
    interview = await get(ctx, interview_id)
    if interview.state not in ("ended", "transcript_review"):
        raise Conflict("访谈结束后才能整理实录", field="state")
    if text is None:
        lines = [
            f"【问】{q.text}\n【答】{q.answer}"
            for q in await questions(ctx, interview.id)
            if q.answer
        ]
        text = f"{interview.title}\n嘉宾：{'、'.join(interview.guests)}\n\n" + "\n\n".join(lines)
    interview.transcript, interview.transcript_by, interview.state = (
        mask_text(text),
        actor.id,
        "transcript_review",
    )
    ctx.session.add(interview)
    return interview


async def approve_transcript(
    ctx: Ctx, actor: Actor, interview_id: str
) -> tuple[Interview, list[str]]:
    """A second staff member approves; the library receives it; open questions become cases."""
    actor.require_role("office", "admin")
    interview = await get(ctx, interview_id)
    if interview.state != "transcript_review":
        raise Conflict("没有待审核的实录", field="state")
    if interview.transcript_by == actor.id:
        raise Forbidden("实录须由另一名工作人员审核", field="actor")
    interview.state, interview.approved_by = "published", actor.id
    interview.submission_id = uuid.uuid4().hex
    ctx.session.add(interview)
    body_html = "".join(
        f"<p>{html.escape(p)}</p>" for p in interview.transcript.splitlines() if p.strip()
    )
    await OUTBOX.add(
        ctx.session,
        ContentSubmitted(
            submission_id=interview.submission_id,
            title=f"在线访谈：{interview.title}",
            body_html=body_html,
            body_text=interview.transcript,
            kind="interview",
            site=interview.site,
            columns=["interviews"],
            publisher=interview.department or "互动交流平台",
            author=actor.id,
            source=f"interaction:interview:{interview.id}",
        ),
    )
    return interview, await _unanswered_to_cases(ctx, interview)


async def _unanswered_to_cases(ctx: Ctx, interview: Interview) -> list[str]:
    numbers = []
    for q in await questions(ctx, interview.id):
        if q.state in VISIBLE and q.substantive and not q.answer and not q.case_number:
            # Built, not validated: the question passed its own validation when asked, and a
            # questioner may have left no phone number, which a web form would require.
            data = CaseSubmission.model_construct(
                kind="message",
                title=f"在线访谈未答问题：{interview.title}"[:200],
                body=q.text,
                name=q.name or None,
                phone=q.phone or None,
                email=None,
                publicity="anonymous",
                page_url=None,
                content_id=None,
                address=None,
                lat=None,
                long=None,
            )
            submitted = await submit_case(ctx, data, ip="interview", source="interview")
            q.case_number = submitted.case.number
            ctx.session.add(q)
            numbers.append(q.case_number)
    return numbers


async def moderation_queue(ctx: Ctx, actor: Actor, interview_id: str) -> list[dict[str, Any]]:
    """Every question with its state, for the moderators (no phone numbers)."""
    actor.require_role("office", "admin")
    return [
        q.model_dump(mode="json", exclude={"phone"}) for q in await questions(ctx, interview_id)
    ]


async def transition(
    ctx: Ctx, actor: Actor, interview_id: str, name: str, text: str | None
) -> dict[str, Any]:
    """live | end | transcript (draft, masked) | transcript-approve (another office member)."""
    if name in ("live", "end"):
        interview = await set_state(ctx, actor, interview_id, "live" if name == "live" else "ended")
        return {"id": interview.id, "state": interview.state}
    if name == "transcript":
        interview = await draft_transcript(ctx, actor, interview_id, text)
        return {"id": interview.id, "state": interview.state, "transcript": interview.transcript}
    if name == "transcript-approve":
        interview, cases = await approve_transcript(ctx, actor, interview_id)
        return {
            "id": interview.id,
            "state": interview.state,
            "submission_id": interview.submission_id,
            "cases": cases,
        }
    raise Unprocessable("未知操作", field="transition")
