"""The staff workflow of a case: screening, dispatch, returns, extension, suspension, reply,
follow-up, supervision. Every transition writes a log row and a `case.*` event (outbox) together.

States: submitted → screening → accepted | not_accepted | merged | spam;
accepted → dispatched → in_progress → (extension_requested | suspended) → reply_review → replied
→ closed | followup → in_progress (reopened once) → … → supervision → closed;
withdrawn before reply.
纠错: submitted → forwarded → fixing → verified → reply_review → replied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select

from common.errors import Conflict, Forbidden, NotFound, Unprocessable
from common.events import (
    CaseAccepted,
    CaseDispatched,
    CaseEventData,
    CaseExtension,
    CaseProgressed,
    CaseReturned,
    CaseScreened,
)
from common.identity import Actor
from services.interaction.cases import clocks
from services.interaction.context import Ctx
from services.interaction.models import (
    OUTBOX,
    Case,
    CaseAssignment,
    CaseClock,
    CaseLog,
    Department,
)

OUTCOMES = {
    "resolved": "已解决",
    "partially_resolved": "部分解决",
    "not_feasible": "已说明不能办理的原因",
    "referred": "已引导至其他渠道",
    "duplicate_answered": "重复件已答复",
    "no_information": "来信人未提供必要信息",
}
STATE_LABELS = {
    "submitted": "已提交",
    "screening": "审核中",
    "accepted": "已受理",
    "not_accepted": "不予受理",
    "merged": "已合并",
    "spam": "无效信件",
    "dispatched": "已转办",
    "in_progress": "办理中",
    "extension_requested": "办理中",
    "suspended": "待补充材料",
    "reply_review": "答复审核中",
    "replied": "已答复",
    "followup": "回访中",
    "supervision": "督办中",
    "closed": "已办结",
    "withdrawn": "已撤回",
    "forwarded": "已转交网站主办单位",
    "fixing": "整改中",
    "verified": "已核实",
}
BEFORE_REPLY = {
    "submitted", "screening", "accepted", "dispatched", "in_progress", "extension_requested",
    "suspended", "reply_review", "forwarded", "fixing", "verified",
}  # fmt: skip
ACTIVE = BEFORE_REPLY | {"replied", "followup", "supervision"}
OFFICE = ("office", "admin")


def require_state(case: Case, allowed: Iterable[str], action: str) -> None:
    if case.state not in set(allowed):
        raise Conflict(
            f"当前状态（{STATE_LABELS.get(case.state, case.state)}）不能执行 {action}",
            field="state",
        )


def require_office(actor: Actor) -> None:
    actor.require_role(*OFFICE)


def require_lead(actor: Actor, case: Case) -> None:
    """The lead department's handler, or the office acting for it (designation)."""
    if actor.has_role(*OFFICE):
        return
    if not actor.has_role("handler") or actor.department != case.lead_department:
        raise Forbidden("只有主办单位的办理人员可以执行此操作", field="department")


def require_reason(reason: str | None, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise Unprocessable("必须说明理由", field=field)
    return reason.strip()


async def transition(
    ctx: Ctx,
    case: Case,
    action: str,
    to_state: str,
    actor: str,
    event: type[CaseEventData],
    reason: str = "",
    public: bool = False,
    **extra: Any,
) -> None:
    """Move the case, log it, and announce it in the same transaction."""
    from_state = case.state
    case.state = to_state
    case.updated_at = ctx.now()
    ctx.session.add(case)
    ctx.session.add(
        CaseLog(
            case_id=case.id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            department=case.lead_department,
            reason=reason,
            public=public,
            at=ctx.now(),
        )
    )
    clock = await clocks.current_clock(ctx.session, case.id)
    await OUTBOX.add(
        ctx.session,
        event(
            case_id=case.id,
            number=case.number,
            kind=case.kind,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            department=case.lead_department,
            co_departments=list(case.co_departments or []),
            reason=reason,
            due_on=clock.due_on.isoformat() if clock else None,
            due_provisional=bool(clock and clock.provisional),
            occurred_at=ctx.now(),
            **extra,
        ),
    )


async def get_case(ctx: Ctx, number: str) -> Case:
    case = (await ctx.session.exec(select(Case).where(col(Case.number) == number))).one_or_none()
    if case is None:
        raise NotFound("没有找到该件", field="number")
    return case


async def _stop_all(ctx: Ctx, case: Case) -> None:
    for clock in await clocks.case_clocks(ctx.session, case.id):
        clocks.stop_clock(ctx, clock)


# --- screening -----------------------------------------------------------------------------


async def screen(ctx: Ctx, case: Case, actor: Actor) -> None:
    require_office(actor)
    require_state(case, {"submitted"}, "screen")
    await transition(ctx, case, "screen", "screening", actor.id, CaseProgressed)


async def accept(ctx: Ctx, case: Case, actor: Actor) -> None:
    require_office(actor)
    if case.kind == "correction":
        raise Conflict("纠错件请直接转交网站主办单位", field="kind")
    require_state(case, {"submitted", "screening"}, "accept")
    case.accepted_on = ctx.today()
    await transition(ctx, case, "accept", "accepted", actor.id, CaseAccepted, public=True)


async def not_accept(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    require_office(actor)
    require_state(case, {"submitted", "screening"}, "not_accept")
    case.outcome, case.outcome_reason = "not_accepted", require_reason(reason)
    await _stop_all(ctx, case)
    await transition(
        ctx,
        case,
        "not_accept",
        "not_accepted",
        actor.id,
        CaseScreened,
        case.outcome_reason,
        public=True,
    )


async def merge(ctx: Ctx, case: Case, actor: Actor, into: str) -> None:
    require_office(actor)
    require_state(case, {"submitted", "screening"}, "merge")
    target = await get_case(ctx, into)
    if target.id == case.id or target.state not in ACTIVE:
        raise Unprocessable("只能合并到另一件办理中的件", field="into")
    case.merged_into, case.outcome = target.number, "duplicate_answered"
    case.outcome_reason = f"与 {target.number} 为同一事项，合并办理"
    await _stop_all(ctx, case)
    await transition(
        ctx, case, "merge", "merged", actor.id, CaseScreened, case.outcome_reason, public=True
    )


async def mark_spam(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    require_office(actor)
    require_state(case, {"submitted", "screening"}, "spam")
    case.outcome, case.outcome_reason = "spam", require_reason(reason)
    await _stop_all(ctx, case)
    await transition(ctx, case, "spam", "spam", actor.id, CaseScreened, case.outcome_reason)


# --- dispatch and returns ------------------------------------------------------------------


async def require_departments(ctx: Ctx, codes: list[str], field: str) -> None:
    if not codes:
        return
    query = select(col(Department.code)).where(
        col(Department.code).in_(codes), col(Department.active).is_(True)
    )
    known = set((await ctx.session.exec(query)).all())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Unprocessable(f"未知单位：{', '.join(unknown)}", field=field)


async def dispatch(ctx: Ctx, case: Case, actor: Actor, lead: str, co: list[str]) -> None:
    """Send to a lead department with co-handlers; after too many returns this is designation."""
    require_office(actor)
    require_state(case, {"accepted"}, "dispatch")
    co = [c for c in dict.fromkeys(co) if c != lead]
    await require_departments(ctx, [lead], "lead_department")
    await require_departments(ctx, co, "co_departments")
    case.lead_department, case.co_departments = lead, co
    case.designated = case.return_count >= ctx.settings.max_returns
    for department, role in [(lead, "lead"), *((c, "co") for c in co)]:
        ctx.session.add(
            CaseAssignment(
                case_id=case.id,
                department=department,
                role=role,
                assigned_on=ctx.today(),
                assigned_at=ctx.now(),
            )
        )
    reason = "指定办理" if case.designated else ""
    await transition(
        ctx, case, "dispatch", "dispatched", actor.id, CaseDispatched, reason, public=True
    )


async def _lead_assignment(ctx: Ctx, case: Case) -> CaseAssignment:
    query = select(CaseAssignment).where(
        col(CaseAssignment.case_id) == case.id,
        col(CaseAssignment.department) == case.lead_department,
        col(CaseAssignment.role) == "lead",
        col(CaseAssignment.ended_at).is_(None),
    )
    assignment = (await ctx.session.exec(query)).first()
    if assignment is None:
        raise Conflict("该件没有在办的主办单位", field="lead_department")
    return assignment


async def return_case(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    """The lead department hands the case back; the statutory clock keeps running."""
    require_lead(actor, case)
    require_state(case, {"dispatched", "in_progress"}, "return")
    reason = require_reason(reason)
    if case.designated:
        raise Conflict("该件为指定办理，不能退回", field="designated")
    assignment = await _lead_assignment(ctx, case)
    used = ctx.calendar.working_days_between(assignment.assigned_on, ctx.today())
    if used > ctx.settings.return_window_working_days:
        raise Conflict(
            f"已超过退回时限（{ctx.settings.return_window_working_days} 个工作日）", field="reason"
        )
    await _end_assignments(ctx, case, reason)
    case.return_count += 1
    await transition(ctx, case, "return", "accepted", actor.id, CaseReturned, reason)
    case.lead_department, case.co_departments = None, []


async def _end_assignments(ctx: Ctx, case: Case, reason: str) -> None:
    query = select(CaseAssignment).where(
        col(CaseAssignment.case_id) == case.id, col(CaseAssignment.ended_at).is_(None)
    )
    for assignment in (await ctx.session.exec(query)).all():
        assignment.ended_at, assignment.returned_reason = ctx.now(), reason
        ctx.session.add(assignment)


async def start(ctx: Ctx, case: Case, actor: Actor) -> None:
    require_lead(actor, case)
    require_state(case, {"dispatched"}, "start")
    await transition(ctx, case, "start", "in_progress", actor.id, CaseProgressed)


async def add_opinion(ctx: Ctx, case: Case, actor: Actor, text: str) -> None:
    """A co-handler's opinion for the lead's unified reply."""
    if actor.department not in (case.co_departments or []) or not actor.has_role("handler"):
        raise Forbidden("只有协办单位可以提交协办意见", field="department")
    require_state(
        case, {"dispatched", "in_progress", "extension_requested", "suspended"}, "opinion"
    )
    query = select(CaseAssignment).where(
        col(CaseAssignment.case_id) == case.id,
        col(CaseAssignment.department) == actor.department,
        col(CaseAssignment.ended_at).is_(None),
    )
    assignment = (await ctx.session.exec(query)).first()
    if assignment is None:
        raise Conflict("协办任务已结束", field="department")
    assignment.opinion = require_reason(text, "text")
    ctx.session.add(assignment)
    await transition(ctx, case, "opinion", case.state, actor.id, CaseProgressed, "协办意见已提交")


# --- extension and suspension --------------------------------------------------------------


async def _reply_clock(ctx: Ctx, case: Case) -> CaseClock:
    clock = await clocks.get_clock(ctx.session, case.id, clocks.REOPEN) or await clocks.get_clock(
        ctx.session, case.id, clocks.REPLY
    )
    if clock is None or not clock.running:
        raise Conflict("该件没有运行中的答复时限", field="state")
    return clock


async def request_extension(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    require_lead(actor, case)
    require_state(case, {"in_progress"}, "request_extension")
    reason = require_reason(reason)
    if case.extension != "none":
        raise Conflict("每件只能申请一次延期", field="extension")
    if ctx.today() > (await _reply_clock(ctx, case)).due_on:
        raise Conflict("已超过答复期限，不能再申请延期", field="extension")
    case.extension = "requested"
    await transition(
        ctx, case, "request_extension", "extension_requested", actor.id, CaseExtension, reason
    )


async def decide_extension(
    ctx: Ctx, case: Case, actor: Actor, approve: bool, reason: str | None
) -> None:
    """Approved: due = extended_reply working days from acceptance; the citizen is told."""
    require_office(actor)
    require_state(case, {"extension_requested"}, "decide_extension")
    reason = require_reason(reason)
    case.extension = "approved" if approve else "denied"
    if approve:
        clock = await _reply_clock(ctx, case)
        clock.anchor_on = case.accepted_on or case.received_on
        clock.working_days = ctx.settings.durations[case.kind].extended_reply
        await clocks.move_clock(ctx, case, clock, actor.id, "延期办理")
    action = "extension_approved" if approve else "extension_denied"
    await transition(
        ctx, case, action, "in_progress", actor.id, CaseExtension, reason, public=approve
    )


async def suspend(ctx: Ctx, case: Case, actor: Actor, reason: str | None) -> None:
    """Pause while waiting for the citizen; the only pause, capped in total."""
    require_lead(actor, case)
    require_state(case, {"in_progress"}, "suspend")
    reason = require_reason(reason)
    if case.suspended_days >= ctx.settings.max_suspension_working_days:
        raise Conflict("中止时间已用完", field="suspended_days")
    case.suspended_on = ctx.today()
    await transition(
        ctx, case, "suspend", "suspended", actor.id, CaseProgressed, reason, public=True
    )


async def resume(ctx: Ctx, case: Case, actor_id: str, reason: str = "") -> None:
    """Back to work; the due date moves by the working days paused, within the cap."""
    require_state(case, {"suspended"}, "resume")
    paused = ctx.calendar.working_days_between(case.suspended_on or ctx.today(), ctx.today())
    paused = min(paused, ctx.settings.max_suspension_working_days - case.suspended_days)
    case.suspended_days += paused
    case.suspended_on = None
    clock = await _reply_clock(ctx, case)
    clock.paused_days += paused
    await clocks.move_clock(ctx, case, clock, actor_id, f"中止 {paused} 个工作日")
    await transition(
        ctx, case, "resume", "in_progress", actor_id, CaseProgressed, reason, public=True
    )


async def resume_by_staff(ctx: Ctx, case: Case, actor: Actor) -> None:
    require_lead(actor, case)
    await resume(ctx, case, actor.id)


async def supplement(ctx: Ctx, case: Case, reason: str | None) -> None:
    """The citizen supplies what was asked for (saying what); the suspended case resumes."""
    await resume(ctx, case, "citizen", require_reason(reason))
