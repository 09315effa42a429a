"""Submission cost: a bounded number of statements, one instant, number clashes retried."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from services.interaction.cases import intake
from services.interaction.clock import FixedClock
from services.interaction.models import Case, CaseClock, CaseLog, SubmissionAttempt
from tests.integration.interaction.conftest import MESSAGE, submit
from tests.integration.interaction.helpers import count, outbox


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_submission_is_one_query_and_five_inserts(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    await submit(client, clock)  # warm: calendar cache, form token
    token = (await client.get("/api/v1/cases/form")).json()["form_token"]
    clock.advance(seconds=30)
    body = {**MESSAGE, "title": "第二件", "body": "另一件事情的详细说明", "form_token": token}
    with statements(app) as seen:
        response = await client.post("/api/v1/cases", json=body)
    assert response.status_code == 201, response.text
    work = [s for s in seen if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]
    # limits + duplicate in one SELECT; case, clock, attempt, log, outbox: one INSERT each;
    # on PostgreSQL one NOTIFY tells the relays in other processes that the outbox has a row
    announce = ["NOTIFY"] if app.state.db.engine.dialect.name == "postgresql" else []
    assert work == ["SELECT", "INSERT", "INSERT", "INSERT", "INSERT", "INSERT", *announce], seen


async def test_every_row_of_a_submission_carries_one_instant(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await submit(client, clock)
    async with app.state.db.sessions() as session:
        case = (await session.execute(select(Case))).scalar_one()
        log = (await session.execute(select(CaseLog))).scalar_one()
        attempt = (await session.execute(select(SubmissionAttempt))).scalar_one()
        clock_row = (await session.execute(select(CaseClock))).scalar_one()
    assert case.received_at == case.updated_at == log.at == attempt.at
    assert (log.action, log.from_state, log.to_state, log.public) == (
        "received",
        "submitted",
        "submitted",
        True,
    )
    assert clock_row.due_on.isoformat() == created["due_on"] == "2025-10-13"
    assert clock_row.told_on == clock_row.due_on and clock_row.running
    (received,) = await outbox(app)
    assert received["topic"] == "case.received" and received["due_on"] == "2025-10-13"
    assert received["number"] == created["number"] == case.number


async def test_number_clash_draws_a_new_number(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["20250926000001", "20250926000001", "20250926000002"])
    monkeypatch.setattr(intake, "new_number", lambda kind, at: next(drawn))
    first = await submit(client, clock)
    second = await submit(client, clock, title="另一件", body="完全不同的内容")
    assert (first["number"], second["number"]) == ("20250926000001", "20250926000002")
    assert await count(app, Case) == 2 and await count(app, CaseClock) == 2


async def test_number_space_exhausted_is_503_not_500(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "new_number", lambda kind, at: "20250926000001")
    await submit(client, clock)
    token = (await client.get("/api/v1/cases/form")).json()["form_token"]
    clock.advance(seconds=30)
    body = {**MESSAGE, "title": "另一件", "body": "完全不同的内容", "form_token": token}
    refused = await client.post("/api/v1/cases", json=body)
    assert refused.status_code == 503 and refused.json()["errors"][0]["field"] == "number"
    assert await count(app, Case) == 1 and await count(app, SubmissionAttempt) == 1
