"""Public statistics per department and period, each figure with its stated formula."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select

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


def _figures(cases: list[Case], breached: set[str], ctx: Ctx) -> dict[str, Any]:
    received = [c for c in cases if c.state != "spam"]
    accepted = [c for c in received if c.accepted_on is not None]
    replied = [c for c in accepted if c.replied_on is not None]
    on_time = [c for c in replied if c.id not in breached]
    rated = [c for c in replied if c.satisfaction]
    satisfied = [c for c in rated if c.satisfaction in ("satisfied", "basically_satisfied")]
    days = [
        ctx.calendar.working_days_between(c.received_on, c.replied_on)
        for c in replied
        if c.replied_on
    ]

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "received": len(received),
        "accepted": len(accepted),
        "replied": len(replied),
        "on_time": len(on_time),
        "breached": len([c for c in accepted if c.id in breached]),
        "handling_rate": ratio(len(replied), len(accepted)),
        "on_time_rate": ratio(len(on_time), len(replied)),
        "average_working_days_to_reply": round(sum(days) / len(days), 2) if days else None,
        "satisfaction_rate": ratio(len(satisfied), len(rated)),
    }


async def statistics(ctx: Ctx, start: date, end: date, department: str | None) -> dict[str, Any]:
    """Cases received in [start, end] (Asia/Shanghai dates), overall and per lead department."""
    query = select(Case).where(Case.received_on >= start, Case.received_on <= end)
    if department:
        query = query.where(Case.lead_department == department)
    cases = list((await ctx.session.execute(query)).scalars())
    ids = [c.id for c in cases]
    breached: set[str] = set()
    if ids:
        late = select(CaseClock.case_id).where(
            CaseClock.case_id.in_(ids), CaseClock.breached.is_(True)
        )
        breached = set((await ctx.session.execute(late)).scalars())
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        groups[case.lead_department or "unassigned"].append(case)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "total": _figures(cases, breached, ctx),
        "departments": {
            name: _figures(rows, breached, ctx) for name, rows in sorted(groups.items())
        },
        "formulas": FORMULAS,
    }
