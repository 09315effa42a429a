"""Two schedulers at once (two app instances, and two passes in one): every alarm fires once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from common.jobs import run_pass
from services.interaction.app import create_app
from services.interaction.cases import clocks
from services.interaction.clock import FixedClock, shanghai
from services.interaction.jobs import deadline_job
from services.interaction.models import Case, CaseAlarm, CaseClock
from tests.integration.interaction.conftest import settings_for
from tests.integration.interaction.helpers import count, outbox

CASES = 30


@pytest.fixture
async def second_app(database_url: str, clock: FixedClock) -> AsyncIterator[FastAPI]:
    """Another replica on the same database: its own engine, pool and calendar cache."""
    app = create_app(settings_for(database_url), clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        yield app


async def seed_running_clocks(app: FastAPI) -> list[str]:
    """Cases in progress whose reply clocks fall due on Mon 10-20 … Fri 10-24 2025."""
    ids = []
    async with app.state.db.sessions() as session:
        for n in range(CASES):
            due = date(2025, 10, 20) + timedelta(days=n % 5)
            at = shanghai(2025, 10, 9)
            case = Case(
                id=uuid.uuid4().hex,
                number=f"2025100900{n:04d}",
                kind="message",
                state="in_progress",
                title="t",
                body="b",
                content_hash=f"c{n}",
                publicity="private",
                token_hash="t",
                received_at=at,
                received_on=date(2025, 10, 9),
                lead_department="edu",
                updated_at=at,
            )
            session.add(case)
            await session.flush()
            session.add(
                CaseClock(
                    case_id=case.id,
                    clock="reply",
                    anchor_on=date(2025, 10, 9),
                    working_days=7,
                    due_on=due,
                    told_on=due,
                )
            )
            ids.append(case.id)
        await session.commit()
    return ids


async def scan_concurrently(apps: list[FastAPI], clock: FixedClock) -> list[int]:
    return list(
        await asyncio.gather(
            *(
                run_pass(a.state.db, deadline_job(a.state.deps))
                for a in (*apps, apps[0])  # two replicas, and two passes in the first
            )
        )
    )


@pytest.fixture
def fire_attempts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often a scan stored an alarm, and how often the unique key stopped it."""
    attempts: Counter[str] = Counter()
    original = clocks._fire

    async def spy(*args: Any) -> int:
        fired = await original(*args)
        attempts["fired" if fired else "refused by the unique key"] += 1
        return fired

    monkeypatch.setattr(clocks, "_fire", spy)
    return attempts


async def test_concurrent_scans_fire_each_alarm_once(
    app: FastAPI, second_app: FastAPI, clock: FixedClock, fire_attempts: Counter[str]
) -> None:
    ids = await seed_running_clocks(app)
    fired_total = 0
    day = date(2025, 10, 15)
    while day <= date(2025, 10, 28):
        clock.set(shanghai(day.year, day.month, day.day, 8))
        fired = await scan_concurrently([app, second_app], clock)
        fired_total += sum(fired)
        # what the scans report is what they stored: no phantom, no double
        assert sum(fired) == await count(app, CaseAlarm) - (fired_total - sum(fired))
        day += timedelta(days=1)

    assert fired_total == CASES * 3 == await count(app, CaseAlarm)
    # the scans really raced: each alarm was also tried by the passes that lost
    assert fire_attempts["fired"] == CASES * 3
    assert fire_attempts["refused by the unique key"] > 0
    events = await outbox(app, "case.deadline")
    per_alarm = Counter((e["case_id"], e["action"]) for e in events)
    assert len(events) == CASES * 3 and set(per_alarm.values()) == {1}
    for case_id in ids:
        actions = [e["action"] for e in events if e["case_id"] == case_id]
        assert actions == [
            "deadline_warning_t-2",
            "deadline_warning_t-1",
            "deadline_breached",
        ]
    async with app.state.db.sessions() as session:
        clocks = (await session.execute(CaseClock.__table__.select())).all()
    assert all(c.breached for c in clocks)


async def test_a_burst_of_missed_alarms_fires_once_under_concurrency(
    app: FastAPI, second_app: FastAPI, clock: FixedClock
) -> None:
    """Both replicas come back after the service was down: all 90 alarms are due at once."""
    await seed_running_clocks(app)
    clock.set(shanghai(2025, 10, 28, 8))
    for _ in range(3):
        first = await scan_concurrently([app, second_app], clock)
        again = await scan_concurrently([app, second_app], clock)
        assert sum(again) == 0
        if sum(first):
            assert sum(first) == CASES * 3
    assert await count(app, CaseAlarm) == CASES * 3
    events = await outbox(app, "case.deadline")
    assert len(events) == CASES * 3
    assert len({(e["case_id"], e["action"]) for e in events}) == CASES * 3
