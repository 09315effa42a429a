"""Statistics in one SQL aggregate: the same figures as counting every case in Python."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from fastapi import FastAPI
from sqlalchemy import event, select

from common.migrations import alembic_config
from services.interaction import statistics
from services.interaction.calendar import WorkCalendar
from services.interaction.clock import FixedClock, shanghai
from services.interaction.models import Case, CaseClock
from tests.integration.interaction.conftest import HANDLER, OFFICE, submit

STATES = ["submitted", "spam", "accepted", "in_progress", "replied", "closed", "followup"]
RATINGS = [None, "satisfied", "basically_satisfied", "unsatisfied"]


def reference(cases: list[Case], breached: set[str], calendar: WorkCalendar) -> dict[str, Any]:
    """The figures as the service computed them before: every case loaded into Python."""
    received = [c for c in cases if c.state != "spam"]
    accepted = [c for c in received if c.accepted_on is not None]
    replied = [c for c in accepted if c.replied_on is not None]
    on_time = [c for c in replied if c.id not in breached]
    rated = [c for c in replied if c.satisfaction]
    satisfied = [c for c in rated if c.satisfaction in ("satisfied", "basically_satisfied")]
    days = [calendar.working_days_between(c.received_on, c.replied_on) for c in replied]

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


def random_case(rng: random.Random, calendar: WorkCalendar) -> Case:
    received_on = date(2025, 8, 20) + timedelta(days=rng.randrange(60))
    state = rng.choice(STATES)
    accepted = state not in ("submitted", "spam") or rng.random() < 0.1
    replied = accepted and (state in ("replied", "closed", "followup") or rng.random() < 0.1)
    replied_on = received_on + timedelta(days=rng.randrange(1, 30)) if replied else None
    at = shanghai(received_on.year, received_on.month, received_on.day)
    return Case(
        id=uuid.uuid4().hex,
        number=uuid.uuid4().hex[:14],
        kind="message",
        state=state,
        title="t",
        body="b",
        content_hash="c",
        publicity="private",
        token_hash="t",
        received_at=at,
        received_on=received_on,
        accepted_on=received_on + timedelta(days=1) if accepted else None,
        lead_department=rng.choice([None, "edu", "hr", "tax"]),
        replied_on=replied_on,
        reply_working_days=calendar.working_days_between(received_on, replied_on)
        if replied_on
        else None,
        satisfaction=rng.choice(RATINGS) if replied else rng.choice([None, None, "satisfied"]),
        updated_at=at,
    )


async def test_hundreds_of_cases_same_figures_as_python(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    rng = random.Random(5)
    async with app.state.db.sessions() as session:
        calendar = await app.state.deps.calendar.get(session)
        cases = [random_case(rng, calendar) for _ in range(400)]
        session.add_all(cases)
        await session.flush()
        breached = {c.id for c in cases if rng.random() < 0.2}
        for c in cases:
            for name in ("reply", "reopen") if rng.random() < 0.3 else ("reply",):
                session.add(
                    CaseClock(
                        case_id=c.id,
                        clock=name,
                        anchor_on=c.received_on,
                        working_days=7,
                        due_on=c.received_on,
                        breached=c.id in breached and name == "reply",
                    )
                )
        await session.commit()

    statements: list[str] = []
    engine = app.state.db.engine.sync_engine

    def record(*args: Any) -> None:
        statements.append(args[2])

    for start, end, department in (
        (date(2025, 9, 1), date(2025, 9, 30), None),
        (date(2025, 8, 1), date(2025, 12, 31), None),
        (date(2025, 9, 10), date(2025, 9, 20), "edu"),
    ):
        event.listen(engine, "before_cursor_execute", record)
        params = {"from": start.isoformat(), "to": end.isoformat()}
        if department:
            params["department"] = department
        response = await client.get("/api/v1/statistics", params=params)
        event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200, response.text
        got = response.json()

        period = [
            c
            for c in cases
            if start <= c.received_on <= end
            and (department is None or c.lead_department == department)
        ]
        groups: dict[str, list[Case]] = defaultdict(list)
        for c in period:
            groups[c.lead_department or "unassigned"].append(c)
        assert got["total"] == reference(period, breached, calendar)
        assert got["departments"] == {
            name: reference(rows, breached, calendar) for name, rows in sorted(groups.items())
        }
        assert got["total"]["received"] > 10
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3


async def test_reply_stores_its_working_days(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    """Received Fri 09-26, replied Thu 10-09: the National Day week counts nothing."""
    clock.set(shanghai(2025, 9, 26, 10))
    created = await replied_case_at(client, clock, shanghai(2025, 10, 9, 10))
    async with app.state.db.sessions() as session:
        case = (
            await session.execute(select(Case).where(Case.number == created["number"]))
        ).scalar_one()
    # 09-28 (Sun) and 10-11 (Sat) are make-up days; 10-01..10-08 a holiday; so 09-28, 09-29,
    # 09-30, 10-09 = 4 working days
    assert (case.replied_on, case.reply_working_days) == (date(2025, 10, 9), 4)
    stats = (await client.get("/api/v1/statistics?from=2025-09-01&to=2025-09-30")).json()
    assert stats["total"]["average_working_days_to_reply"] == 4

    # the migration that added the column backfills replied cases from the stored calendar
    def migrate(connection: Any, target: str) -> None:
        config = alembic_config(Path(statistics.__file__).parent / "migrations")
        config.attributes["connection"] = connection
        (command.upgrade if target == "head" else command.downgrade)(config, target)

    for target in ("cdbf8d579186", "head"):
        async with app.state.db.engine.begin() as conn:
            await conn.run_sync(migrate, target)
    again = (await client.get("/api/v1/statistics?from=2025-09-01&to=2025-09-30")).json()
    assert again["total"] == stats["total"]


async def replied_case_at(
    client: httpx.AsyncClient, clock: FixedClock, reply_at: Any
) -> dict[str, Any]:
    created = await submit(client, clock)
    number = created["number"]
    await client.post(f"/api/v1/cases/{number}/accept", headers=OFFICE)
    await client.post(
        f"/api/v1/cases/{number}/dispatch", json={"lead_department": "edu"}, headers=OFFICE
    )
    await client.post(f"/api/v1/cases/{number}/start", headers=HANDLER)
    reply = {"text": "已处理。", "outcome": "resolved", "reason": "已处理"}
    await client.post(f"/api/v1/cases/{number}/reply", json=reply, headers=HANDLER)
    clock.set(reply_at)
    approved = await client.post(f"/api/v1/cases/{number}/reply/approve", headers=OFFICE)
    assert approved.status_code == 200, approved.text
    return created
