"""Broken-link checks run by the worker's job, never inside the consumer's transaction."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
from sqlalchemy import func, select

from common.db import Database
from common.jobs import run_forever
from services.review.checks.types import Finding
from services.review.jobs import jobs
from services.review.models import Decision, FindingRow, LinkCheck
from tests.integration.review.conftest import (
    ADMIN,
    R1,
    R2,
    R3,
    ReviewHarness,
    dead_or_alive,
    review_app,
)

ALIVE = "正文见附件 http://www.gov.cn/a.pdf 。"
DEAD = "正文见附件 http://dead.gov.cn/a.pdf 。"


def checked_out(database: Database) -> int:
    """Connections currently lent out by the pool (0: no session, no transaction open)."""
    return int(database.engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def count_rows(review: ReviewHarness, model: type) -> int:
    async with review.app.state.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_consumer_queues_and_job_checks_outside_any_transaction(database_url: str) -> None:
    open_connections: list[int] = []
    holder: dict[str, Database] = {}

    def web(request: httpx.Request) -> httpx.Response:
        open_connections.append(checked_out(holder["db"]))
        return dead_or_alive(request)

    async with review_app(database_url, web) as review:
        holder["db"] = review.app.state.db
        data = await review.ingest(body_text=DEAD)
        assert review.checks.links is not None and review.checks.links.requests == 0
        task = await review.task_of(data.content_id)
        assert task["link_check"] == "pending" and task["findings"] == []

        assert await review.run_link_checks() == 1
        assert open_connections and set(open_connections) == {0}
        task = await review.task_of(data.content_id)
        assert task["link_check"] == "done"
        assert [(f["rule"], f["text"], f["suggestion"]) for f in task["findings"]] == [
            ("link.broken", "http://dead.gov.cn/a.pdf", "404")
        ]
        assert await review.run_link_checks() == 0  # nothing left
        trail = await review.client.get(
            "/api/v1/audit", params={"subject": data.content_id}, headers=ADMIN
        )
        entries = {e["action"]: e["data"] for e in trail.json()["items"]}
        assert entries["task.opened"]["link_check"] == "pending"
        assert entries["links.checked"]["broken"] == 1


async def test_item_without_links_queues_nothing(review: ReviewHarness) -> None:
    data = await review.ingest()
    assert (await review.task_of(data.content_id))["link_check"] is None
    assert await count_rows(review, LinkCheck) == 0


async def test_last_stage_waits_for_the_link_check(review: ReviewHarness) -> None:
    data = await review.ingest(body_text=ALIVE)
    tid = (await review.task_of(data.content_id))["id"]
    assert (await review.decide(tid, R1)).status_code == 201  # earlier stages need not wait
    assert (await review.decide(tid, R2)).status_code == 201
    early = await review.decide(tid, R3)
    assert early.status_code == 409
    assert early.json()["errors"][0]["field"] == "link_check"
    assert "broken-link check has not run" in early.json()["detail"]
    assert await count_rows(review, Decision) == 2 and await review.outbox("review.decided") == []

    await review.run_link_checks()
    assert (await review.task_of(data.content_id))["findings"] == []  # the link answers 200
    assert (await review.decide(tid, R3)).status_code == 201
    assert (await review.outbox("review.decided"))[0]["data"]["decision"] == "approved"


async def test_a_blocking_link_finding_prevents_approval(review: ReviewHarness) -> None:
    async def blocking(body_html: str, body_text: str) -> list[Finding]:
        start = body_text.index("http")
        url = body_text[start : body_text.index(" ", start)]
        return [Finding("link.broken", "link", "block", start, start + len(url), url, "404")]

    review.checks.broken_links = blocking  # type: ignore[method-assign]
    data = await review.ingest(body_text=DEAD)
    tid = (await review.task_of(data.content_id))["id"]
    assert (await review.decide(tid, R1)).status_code == 201
    await review.run_link_checks()
    task = await review.task_of(data.content_id)
    assert task["blocking_findings"] == 1
    refused = await review.decide(tid, R2)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "findings"


async def test_superseded_version_is_skipped_without_a_request(review: ReviewHarness) -> None:
    v1 = await review.ingest(body_text="见 http://dead.gov.cn/old 。")
    v2_text = "见 http://www.gov.cn/new 。"
    await review.ingest(content_id=v1.content_id, version=2, body_text=v2_text)
    assert await review.run_link_checks() == 2
    async with review.app.state.db.sessions() as session:
        rows = (await session.execute(select(LinkCheck.version, LinkCheck.status))).all()
    assert sorted(rows) == [(1, "skipped"), (2, "done")]
    assert review.checks.links is not None and review.checks.links.requests == 1


async def test_errors_are_retried_then_the_check_gives_up(review: ReviewHarness) -> None:
    async def broken(body_html: str, body_text: str) -> list[Finding]:
        raise RuntimeError("resolver exploded")

    review.checks.broken_links = broken  # type: ignore[method-assign]
    data = await review.ingest(body_text=ALIVE)
    database = review.app.state.db
    await review.run_link_checks(max_attempts=2)
    async with database.sessions() as session:
        row = await session.get(LinkCheck, (await review.task_of(data.content_id))["id"])
        assert row is not None and (row.status, row.attempts) == ("pending", 1)
        assert "resolver exploded" in str(row.last_error)
    await review.run_link_checks(max_attempts=2)
    task = await review.task_of(data.content_id)
    assert task["link_check"] == "failed"  # no longer holds up the last stage
    warned = [f for f in task["findings"] if f["rule"] == "link.check_failed"]
    assert len(warned) == 1 and warned[0]["severity"] == "warn"  # reviewers are told to look
    trail = await review.client.get(
        "/api/v1/audit", params={"subject": data.content_id}, headers=ADMIN
    )
    assert trail.json()["items"][-1]["action"] == "links.check_failed"


async def test_two_workers_record_the_result_once(review: ReviewHarness) -> None:
    data = await review.ingest(body_text=DEAD)
    await asyncio.gather(review.run_link_checks(), review.run_link_checks())
    async with review.app.state.db.sessions() as session:
        query = select(func.count()).where(
            FindingRow.content_id == data.content_id, FindingRow.rule == "link.broken"
        )
        assert (await session.execute(query)).scalar_one() == 1
    trail = await review.client.get(
        "/api/v1/audit", params={"subject": data.content_id}, headers=ADMIN
    )
    assert [e["action"] for e in trail.json()["items"]].count("links.checked") == 1


async def test_the_worker_job_runs_queued_checks(review: ReviewHarness) -> None:
    settings = review.app.state.settings.model_copy(update={"link_job_interval_seconds": 0.01})
    deps = replace(review.app.state.deps, settings=settings)
    link_checks = next(j for j in jobs(deps) if j.name == "link-checks")
    assert link_checks.batch == settings.link_job_batch
    data = await review.ingest(body_text=DEAD)
    job = asyncio.create_task(run_forever(review.app.state.db, link_checks))
    try:
        for _ in range(200):
            if (await review.task_of(data.content_id))["link_check"] == "done":
                break
            await asyncio.sleep(0.02)
        assert (await review.task_of(data.content_id))["link_check"] == "done"
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)


async def test_draft_links_are_fetched_with_no_transaction_open(database_url: str) -> None:
    open_connections: list[int] = []
    holder: dict[str, Database] = {}

    def web(request: httpx.Request) -> httpx.Response:
        open_connections.append(checked_out(holder["db"]))
        return dead_or_alive(request)

    async with review_app(database_url, web) as review:
        holder["db"] = review.app.state.db
        draft = {"title": "通知", "body_text": DEAD, "publisher": "办公厅", "check_links": True}
        response = await review.client.post("/api/v1/checks", json=draft, headers=R1)
        assert [f["rule"] for f in response.json()["findings"]] == ["link.broken"]
        assert open_connections == [0]
