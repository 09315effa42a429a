"""Deadline alarms: T−2, T−1 and breach fire once each, across a restart, none lost."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from common.jobs import run_pass
from services.interaction.app import create_app
from services.interaction.clock import FixedClock, shanghai
from services.interaction.jobs import deadline_job
from services.interaction.models import CaseAlarm
from tests.integration.interaction.conftest import ADMIN, HANDLER, OFFICE, settings_for, submit
from tests.integration.interaction.helpers import count, outbox


async def scan(app, clock: FixedClock) -> int:  # type: ignore[no-untyped-def]
    return await run_pass(app.state.db, deadline_job(app.state.deps))


async def test_alarms_fire_once_across_a_restart(database_url: str) -> None:
    clock = FixedClock(shanghai(2025, 9, 26, 10))
    first = create_app(settings_for(database_url), clock=clock)
    async with LifespanManager(first, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            await client.put(
                "/api/v1/departments/edu", json={"code": "edu", "name": "教育局"}, headers=ADMIN
            )
            created = await submit(client, clock)
            number = created["number"]
            await client.post(f"/api/v1/cases/{number}/accept", headers=OFFICE)
            await client.post(
                f"/api/v1/cases/{number}/dispatch", json={"lead_department": "edu"}, headers=OFFICE
            )
        clock.set(shanghai(2025, 10, 9, 8))
        assert await scan(first, clock) == 0
        clock.set(shanghai(2025, 10, 10, 8))  # T−2 (due Mon 10-13; Sat 10-11 is a make-up day)
        assert await scan(first, clock) == 1
        assert await scan(first, clock) == 0  # same day, second scan: nothing doubled

    # the service is down over T−1 (Sat 10-11) and the due date; it comes back on Tue 10-14
    clock.set(shanghai(2025, 10, 14, 8))
    second = create_app(settings_for(database_url), clock=clock)
    async with LifespanManager(second, startup_timeout=60, shutdown_timeout=60):
        assert await scan(second, clock) == 2  # the missed T−1 warning, then the breach
        assert await scan(second, clock) == 0
        events = await outbox(second, "case.deadline")
        assert [(e["topic"], e["action"], e["due_on"]) for e in events] == [
            ("case.deadline_warning", "deadline_warning_t-2", "2025-10-13"),
            ("case.deadline_warning", "deadline_warning_t-1", "2025-10-13"),
            ("case.deadline_breached", "deadline_breached", "2025-10-13"),
        ]
        assert events[0]["working_days_left"] == 2 and events[0]["department"] == "edu"
        assert await count(second, CaseAlarm) == 3

        # a late reply stops the clock but the breach stays
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            await client.post(f"/api/v1/cases/{number}/start", headers=HANDLER)
            reply = {"text": "已处理。", "outcome": "resolved", "reason": "已处理"}
            await client.post(f"/api/v1/cases/{number}/reply", json=reply, headers=HANDLER)
            done = await client.post(f"/api/v1/cases/{number}/reply/approve", headers=OFFICE)
        clock_view = done.json()["clocks"][0]
        assert (clock_view["running"], clock_view["breached"]) == (False, True)


async def test_suspended_cases_do_not_alarm(database_url: str) -> None:
    clock = FixedClock(shanghai(2025, 9, 26, 10))
    app = create_app(settings_for(database_url), clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            await client.put(
                "/api/v1/departments/edu", json={"code": "edu", "name": "教育局"}, headers=ADMIN
            )
            number = (await submit(client, clock))["number"]
            for action, body in (("accept", None), ("dispatch", {"lead_department": "edu"})):
                await client.post(f"/api/v1/cases/{number}/{action}", json=body, headers=OFFICE)
            await client.post(f"/api/v1/cases/{number}/start", headers=HANDLER)
            await client.post(
                f"/api/v1/cases/{number}/suspend", json={"reason": "等材料"}, headers=HANDLER
            )
        clock.set(shanghai(2025, 10, 14, 8))
        assert await scan(app, clock) == 0
