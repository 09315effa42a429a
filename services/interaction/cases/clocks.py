"""Statutory clocks of cases: start, move, stop, recompute on a calendar import, and alarms.

A clock's due date is `anchor + working_days + paused_days` working days on the calendar.
Once shown to the citizen (`told_on`) it never moves earlier, whatever the calendar says later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import CaseDeadlineBreached, CaseDeadlineChanged, CaseDeadlineWarning
from services.interaction.calendar import WorkCalendar
from services.interaction.context import Ctx
from services.interaction.models import OUTBOX, Case, CaseAlarm, CaseClock

REPLY, FORWARD, REOPEN = "reply", "forward", "reopen"
PAUSED_STATES = {"suspended"}


def due_of(calendar: WorkCalendar, clock: CaseClock) -> tuple[date, bool]:
    """The clock's due date on this calendar, floored at what the citizen was told."""
    due = calendar.add_working_days(clock.anchor_on, clock.working_days + clock.paused_days)
    if clock.told_on is not None and due.on < clock.told_on:
        return clock.told_on, due.provisional
    return due.on, due.provisional


async def get_clock(session: AsyncSession, case_id: str, name: str) -> CaseClock | None:
    query = select(CaseClock).where(col(CaseClock.case_id) == case_id, col(CaseClock.clock) == name)
    return (await session.exec(query)).one_or_none()


async def case_clocks(session: AsyncSession, case_id: str) -> list[CaseClock]:
    query = select(CaseClock).where(col(CaseClock.case_id) == case_id).order_by(col(CaseClock.id))
    return list((await session.exec(query)).all())


async def current_clock(session: AsyncSession, case_id: str) -> CaseClock | None:
    """The clock the citizen cares about: the running one, else the last one."""
    clocks = await case_clocks(session, case_id)
    running = [c for c in clocks if c.running]
    chosen = running or clocks
    return chosen[-1] if chosen else None


def new_clock(
    calendar: WorkCalendar, case_id: str, name: str, anchor: date, working_days: int
) -> CaseClock:
    """A clock computed on the calendar, not yet stored (the caller adds or inserts it)."""
    clock = CaseClock(
        case_id=case_id, clock=name, anchor_on=anchor, working_days=working_days, due_on=anchor
    )
    clock.due_on, clock.provisional = due_of(calendar, clock)
    clock.told_on = clock.due_on  # shown to the citizen from now on
    return clock


async def start_clock(
    ctx: Ctx, case: Case, name: str, anchor: date, working_days: int
) -> CaseClock:
    clock = new_clock(ctx.calendar, case.id, name, anchor, working_days)
    ctx.session.add(clock)
    return clock


def stop_clock(ctx: Ctx, clock: CaseClock | None) -> None:
    if clock is not None and clock.running:
        clock.running = False
        clock.met_on = ctx.today()
        ctx.session.add(clock)


async def move_clock(ctx: Ctx, case: Case, clock: CaseClock, actor: str, reason: str) -> None:
    """Recompute after a change of anchor, length or pause, tell the citizen, announce it."""
    before = clock.due_on
    clock.due_on, clock.provisional = due_of(ctx.calendar, clock)
    clock.told_on = max(clock.told_on or clock.due_on, clock.due_on)
    ctx.session.add(clock)
    if clock.due_on != before:
        await OUTBOX.add(ctx.session, _changed(case, clock, actor, reason, ctx.now()))


def _changed(
    case: Case, clock: CaseClock, actor: str, reason: str, at: datetime
) -> CaseDeadlineChanged:
    return CaseDeadlineChanged(
        case_id=case.id,
        number=case.number,
        kind=case.kind,
        action="deadline_changed",
        to_state=case.state,
        actor=actor,
        department=case.lead_department,
        reason=reason,
        due_on=clock.due_on.isoformat(),
        due_provisional=clock.provisional,
        occurred_at=at,
        clock=clock.clock,
    )


async def recompute_provisional(ctx: Ctx, actor: str) -> int:
    """After a calendar import: every running provisional clock on the new calendar.

    A due date may move later (more holidays) but never earlier than what the citizen was told.
    """
    query = (
        select(CaseClock, Case)
        .join(Case, col(Case.id) == col(CaseClock.case_id))
        .where(col(CaseClock.running).is_(True), col(CaseClock.provisional).is_(True))
    )
    changed = 0
    for clock, case in (await ctx.session.exec(query)).all():
        before = (clock.due_on, clock.provisional)
        clock.due_on, clock.provisional = due_of(ctx.calendar, clock)
        clock.told_on = max(clock.told_on or clock.due_on, clock.due_on)
        ctx.session.add(clock)
        if (clock.due_on, clock.provisional) != before:
            changed += 1
            await OUTBOX.add(ctx.session, _changed(case, clock, actor, "日历更新", ctx.now()))
    return changed


# --- the scheduler's scan -----------------------------------------------------------------

# T−2 working days can lie ten calendar days back around the Spring Festival; scan that far.
LOOKAHEAD = timedelta(days=20)


def alarms_due(
    calendar: WorkCalendar, clock: CaseClock, today: date, warnings: tuple[int, ...]
) -> list[tuple[str, int]]:
    """(kind, working days left) of every alarm whose time has come, in order of time."""
    due: list[tuple[str, int]] = []
    for n in sorted(warnings, reverse=True):
        if today >= calendar.subtract_working_days(clock.due_on, n):
            due.append((f"t-{n}", n))
    if today > clock.due_on:
        due.append(("breach", 0))
    return due


async def scan_deadlines(ctx: Ctx) -> int:
    """Fire every warning and breach whose time has come and has not fired yet.

    Missed alarms (the service was down) fire on the next scan, so nothing is lost. An alarm
    row keyed (case, clock, kind, due) is written with its event in one savepoint: a second
    scan, or a second replica, hits the unique key and fires nothing. On PostgreSQL the second
    scan's insert waits for the first scan's transaction and then fails; every scan takes the
    clocks in the same order (case, clock), so two scans never wait for each other in a cycle
    (a deadlock would abort a whole scan). On SQLite the writers queue on the database lock.
    """
    today = ctx.today()
    query = (
        select(CaseClock, Case)
        .join(Case, col(Case.id) == col(CaseClock.case_id))
        .where(col(CaseClock.running).is_(True), col(CaseClock.due_on) <= today + LOOKAHEAD)
        .order_by(col(CaseClock.case_id), col(CaseClock.clock))
    )
    rows = [
        (c, k) for c, k in (await ctx.session.exec(query)).all() if k.state not in PAUSED_STATES
    ]
    fired_before = await _fired(ctx.session, [c.case_id for c, _ in rows])
    fired = 0
    for clock, case in rows:
        for kind, left in alarms_due(ctx.calendar, clock, today, ctx.settings.warning_working_days):
            if (case.id, clock.clock, kind, clock.due_on) in fired_before:
                continue
            fired += await _fire(ctx, case, clock, kind, left)
    return fired


async def _fired(session: AsyncSession, case_ids: list[str]) -> set[tuple[str, str, str, date]]:
    if not case_ids:
        return set()
    query = select(
        col(CaseAlarm.case_id), col(CaseAlarm.clock), col(CaseAlarm.kind), col(CaseAlarm.due_on)
    ).where(col(CaseAlarm.case_id).in_(set(case_ids)))
    return {
        (case_id, clock, kind, due)
        for case_id, clock, kind, due in (await session.exec(query)).all()
    }


async def _fire(ctx: Ctx, case: Case, clock: CaseClock, kind: str, left: int) -> int:
    now = ctx.now()
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(
                CaseAlarm(
                    case_id=case.id, clock=clock.clock, kind=kind, due_on=clock.due_on, fired_at=now
                )
            )
            await ctx.session.flush()
            await OUTBOX.add(ctx.session, _alarm_event(case, clock, kind, left, now))
            if kind == "breach":
                clock.breached = True  # stays in the statistics even if the reply comes later
                ctx.session.add(clock)
    except IntegrityError:
        return 0  # another scan fired it first
    return 1


def _alarm_event(
    case: Case, clock: CaseClock, kind: str, left: int, at: datetime
) -> CaseDeadlineWarning | CaseDeadlineBreached:
    common = dict(
        case_id=case.id,
        number=case.number,
        kind=case.kind,
        to_state=case.state,
        actor="scheduler",
        department=case.lead_department,
        due_on=clock.due_on.isoformat(),
        due_provisional=clock.provisional,
        occurred_at=at,
        clock=clock.clock,
    )
    if kind == "breach":
        return CaseDeadlineBreached(action="deadline_breached", **common)
    return CaseDeadlineWarning(action=f"deadline_warning_{kind}", working_days_left=left, **common)
