"""Replies and after: the reviewed unified reply, satisfaction with single-use links, one reopen,
supervision, closing, the citizen's withdrawal, and the 纠错 path (forward → fix → verify)."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from common.errors import Conflict, NotFound, Unprocessable
from common.events import (
    CaseDispatched,
    CaseFollowedUp,
    CaseProgressed,
    CaseReplied,
    CaseReplySubmitted,
    CaseWithdrawn,
)
from common.identity import Actor
from services.interaction.cases import clocks
from services.interaction.cases.workflow import (
    ACTIVE,
    BEFORE_REPLY,
    OUTCOMES,
    require_departments,
    require_lead,
    require_office,
    require_reason,
    require_state,
    transition,
)
from services.interaction.context import Ctx
from services.interaction.models import Case, CaseAssignment, SatisfactionLink

RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


# --- reply ---------------------------------------------------------------------------------


async def submit_reply(
    ctx: Ctx, case: Case, actor: Actor, text: str, outcome: str, reason: str | None
) -> None:
    """The lead's unified reply goes to review; every outcome carries a reason."""
    require_lead(actor, case)
    require_state(case, {"in_progress", "verified"}, "submit_reply")
    if outcome not in OUTCOMES:
        raise Unprocessable(f"outcome 必须是 {', '.join(OUTCOMES)} 之一", field="outcome")
    case.reply_draft = require_reason(text, "text")
    case.outcome, case.outcome_reason = outcome, require_reason(reason)
    await transition(
        ctx, case, "submit_reply", "reply_review", actor.id, CaseReplySubmitted, case.outcome_reason
    )


async def return_reply(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    require_office(actor)
    require_state(case, {"reply_review"}, "return_reply")
    back = "verified" if case.kind == "correction" else "in_progress"
    await transition(
        ctx, case, "return_reply", back, actor.id, CaseProgressed, require_reason(reason)
    )


async def approve_reply(ctx: Ctx, case: Case, actor: Actor) -> None:
    """The reviewed reply is sent: clocks stop (late ones stay breached), a follow-up link opens."""
    require_office(actor)
    require_state(case, {"reply_review"}, "approve_reply")
    case.reply_text, case.replied_at, case.replied_on = case.reply_draft, ctx.now(), ctx.today()
    case.reply_working_days = ctx.calendar.working_days_between(case.received_on, case.replied_on)
    for clock in await clocks.case_clocks(ctx.session, case.id):
        clocks.stop_clock(ctx, clock)
    await _open_satisfaction(ctx, case)
    await transition(
        ctx,
        case,
        "reply",
        "replied",
        actor.id,
        CaseReplied,
        case.outcome_reason,
        public=True,
        outcome=case.outcome or "",
    )


# --- satisfaction, reopen, supervision -----------------------------------------------------


def satisfaction_token(secret: str, case: Case) -> str:
    """Derived, so the tracking view can show the link; single use is enforced by `used_at`."""
    message = f"satisfaction:{case.id}:{case.reopen_count}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _open_satisfaction(ctx: Ctx, case: Case) -> None:
    token = satisfaction_token(ctx.settings.internal_secret, case)
    ctx.session.add(
        SatisfactionLink(
            token_hash=_hash(token),
            case_id=case.id,
            attempt=case.reopen_count + 1,
            created_at=ctx.now(),
        )
    )


async def open_link(ctx: Ctx, case: Case) -> SatisfactionLink | None:
    """The unused link of the current attempt, if any."""
    link = await ctx.session.get(
        SatisfactionLink, _hash(satisfaction_token(ctx.settings.internal_secret, case))
    )
    return link if link is not None and link.used_at is None else None


async def rate(ctx: Ctx, number: str, token: str, rating: str, reason: str | None) -> Case:
    """Record satisfaction through a single-use link: satisfied → closed; unsatisfied with a
    reason → follow-up (the office may reopen once), or supervision after a reopen."""
    if rating not in RATINGS:
        raise Unprocessable(f"rating 必须是 {', '.join(RATINGS)} 之一", field="rating")
    link = await ctx.session.get(SatisfactionLink, _hash(token))
    case = await ctx.session.get(Case, link.case_id) if link else None
    if link is None or case is None or case.number != number:
        raise NotFound("链接无效", field="token")
    if link.used_at is not None or case.state != "replied":
        raise Conflict("该评价链接已使用", field="token")
    if rating == "unsatisfied":
        reason = require_reason(reason)
    link.used_at, link.rating, link.reason = ctx.now(), rating, reason
    ctx.session.add(link)
    case.satisfaction = rating
    to_state = (
        "closed"
        if rating != "unsatisfied"
        else ("followup" if case.reopen_count == 0 else "supervision")
    )
    if to_state == "supervision":
        case.supervised = True
    await transition(
        ctx,
        case,
        "rate",
        to_state,
        "citizen",
        CaseFollowedUp,
        reason or "",
        public=True,
        rating=rating,
    )
    return case


async def reopen(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    """Once, for a valid dissatisfaction: back to the lead department with a new clock."""
    require_office(actor)
    require_state(case, {"followup"}, "reopen")
    reason = require_reason(reason)
    if case.reopen_count >= 1:
        raise Conflict("每件只能重新办理一次", field="reopen_count")
    case.reopen_count += 1
    case.reply_draft, case.outcome = "", None
    await clocks.start_clock(
        ctx, case, clocks.REOPEN, ctx.today(), ctx.settings.durations[case.kind].reply
    )
    await transition(
        ctx, case, "reopen", "in_progress", actor.id, CaseFollowedUp, reason, public=True
    )


async def supervise(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    """督办: the office flags a case for supervision; its state does not change."""
    require_office(actor)
    require_state(case, ACTIVE, "supervise")
    case.supervised = True
    await transition(
        ctx, case, "supervise", case.state, actor.id, CaseFollowedUp, require_reason(reason)
    )


async def close(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    require_office(actor)
    require_state(case, {"followup", "supervision", "replied"}, "close")
    await transition(
        ctx, case, "close", "closed", actor.id, CaseFollowedUp, require_reason(reason), public=True
    )


async def withdraw(ctx: Ctx, case: Case, reason: str | None) -> None:
    """The citizen withdraws before the reply; every clock stops."""
    require_state(case, BEFORE_REPLY, "withdraw")
    for clock in await clocks.case_clocks(ctx.session, case.id):
        clocks.stop_clock(ctx, clock)
    case.outcome, case.outcome_reason = "withdrawn", reason or "来信人撤回"
    await transition(
        ctx,
        case,
        "withdraw",
        "withdrawn",
        "citizen",
        CaseWithdrawn,
        case.outcome_reason,
        public=True,
    )


# --- 纠错 -----------------------------------------------------------------------------------


async def forward(ctx: Ctx, case: Case, actor: Actor, department: str) -> None:
    """Forward an error report to the site owner: the forward clock stops, the reply clock runs."""
    require_office(actor)
    if case.kind != "correction":
        raise Conflict("只有纠错件需要转交", field="kind")
    require_state(case, {"submitted", "screening"}, "forward")
    await require_departments(ctx, [department], "department")
    case.lead_department, case.accepted_on = department, ctx.today()
    clocks.stop_clock(ctx, await clocks.get_clock(ctx.session, case.id, clocks.FORWARD))
    if ctx.settings.correction_reply_anchor == "forwarded":
        await clocks.start_clock(
            ctx, case, clocks.REPLY, ctx.today(), ctx.settings.durations["correction"].reply
        )
    ctx.session.add(
        CaseAssignment(
            case_id=case.id,
            department=department,
            role="lead",
            assigned_on=ctx.today(),
            assigned_at=ctx.now(),
        )
    )
    await transition(ctx, case, "forward", "forwarded", actor.id, CaseDispatched, public=True)


async def fix(ctx: Ctx, case: Case, actor: Actor) -> None:
    require_lead(actor, case)
    require_state(case, {"forwarded"}, "fix")
    await transition(ctx, case, "fix", "fixing", actor.id, CaseProgressed, public=True)


async def verify(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    require_office(actor)
    require_state(case, {"fixing"}, "verify")
    await transition(
        ctx, case, "verify", "verified", actor.id, CaseProgressed, require_reason(reason)
    )


async def satisfaction_link_for(ctx: Ctx, case: Case) -> str | None:
    if case.state != "replied" or await open_link(ctx, case) is None:
        return None
    return satisfaction_token(ctx.settings.internal_secret, case)


__all__ = ["select"]
