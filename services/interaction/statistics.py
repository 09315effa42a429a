"""Public statistics per department and period, each figure with its stated formula.

One aggregate query grouped by lead department; the totals are the sums of the groups. The
working days of each reply are counted when the reply is sent (`Case.reply_working_days`), so
the average is a SQL sum too and a later calendar import does not rewrite past figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, select
from sqlmodel import col

from common.errors import Unprocessable
from services.interaction.context import Ctx
from services.interaction.models import Case, CaseClock

FORMULAS = {
    "received": "受理期内收到的来信数（不含无效信件）",
    "accepted": "received 中已受理的件数（含纠错转交）",
    "replied": "accepted 中已答复的件数",
    "on_time": "replied 中答复时限从未超期的件数（超期一旦发生永久计入）",
    "breached": "accepted 中任一答复时限超期的件数",
    "handling_rate": "replied / accepted",
    "on_time_rate": "on_time / replied",
    "average_working_days_to_reply": "Σ(答复日 − 收件日 的工作日数，收件日不计) / replied",
    "satisfaction_rate": "(满意 + 基本满意) / 已评价件数",
}
MAX_RANGE_DAYS = 3660
COUNTS = ("received", "accepted", "replied", "on_time", "breached", "rated", "satisfied")


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _query(start: date, end: date, department: str | None) -> Any:
    received = col(Case.state) != "spam"
    accepted = and_(received, col(Case.accepted_on).is_not(None))
    replied = and_(accepted, col(Case.replied_on).is_not(None))
    breached = exists().where(
        col(CaseClock.case_id) == col(Case.id), col(CaseClock.breached).is_(True)
    )
    rated = and_(replied, col(Case.satisfaction).is_not(None))
    group = func.coalesce(col(Case.lead_department), "unassigned").label("department")
    query = (
        select(
            group,
            _count(received).label("received"),
            _count(accepted).label("accepted"),
            _count(replied).label("replied"),
            _count(and_(replied, not_(breached))).label("on_time"),
            _count(and_(accepted, breached)).label("breached"),
            _count(rated).label("rated"),
            _count(
                and_(rated, col(Case.satisfaction).in_(("satisfied", "basically_satisfied")))
            ).label("satisfied"),
            func.coalesce(
                func.sum(case((replied, func.coalesce(col(Case.reply_working_days), 0)), else_=0)),
                0,
            ).label("days"),
        )
        .where(col(Case.received_on) >= start, col(Case.received_on) <= end)
        .group_by(group)
    )
    if department:
        query = query.where(col(Case.lead_department) == department)
    return query


def _figures(n: dict[str, int]) -> dict[str, Any]:
    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "received": n["received"],
        "accepted": n["accepted"],
        "replied": n["replied"],
        "on_time": n["on_time"],
        "breached": n["breached"],
        "handling_rate": ratio(n["replied"], n["accepted"]),
        "on_time_rate": ratio(n["on_time"], n["replied"]),
        "average_working_days_to_reply": round(n["days"] / n["replied"], 2)
        if n["replied"]
        else None,
        "satisfaction_rate": ratio(n["satisfied"], n["rated"]),
    }


async def statistics(ctx: Ctx, start: date, end: date, department: str | None) -> dict[str, Any]:
    """Cases received in [start, end] (Asia/Shanghai dates), overall and per lead department."""
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        raise Unprocessable("统计区间无效", field="to")
    rows = (await ctx.session.execute(_query(start, end, department))).all()
    groups = {r.department: {k: int(getattr(r, k)) for k in (*COUNTS, "days")} for r in rows}
    total = {k: sum(g[k] for g in groups.values()) for k in (*COUNTS, "days")}
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "total": _figures(total),
        "departments": {name: _figures(groups[name]) for name in sorted(groups)},
        "formulas": FORMULAS,
    }
