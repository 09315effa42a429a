"""Crawling a local subordinate site twice: encodings, robots.txt, conditional GET, a changed page,
hostile pages failing with reasons while the crawl goes on; scheduling and progress via the API."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx

from common.db import Database
from common.events import utcnow
from common.jobs import run_once, run_pass
from services.ingest.clients.fetch import HostGate
from services.ingest.crawler.run import enqueue_due, new_run, recover_stale, write_progress
from services.ingest.deps import Deps
from services.ingest.jobs import jobs
from services.ingest.models_intake import CrawlRun
from services.ingest.settings import IngestSettings
from tests.integration.ingest.helpers import ADMIN, EDITOR, run_pending
from tests.integration.ingest.site import serve_site


def crawl_settings(database_url: str) -> IngestSettings:
    return IngestSettings(
        database_url=database_url,
        crawl_timeout_seconds=4.0,
        crawl_max_page_bytes=200_000,
        outbound_allow=["127.0.0.1"],  # the test site runs on this machine
        crawl_heartbeat_seconds=0.2,  # beats while the slow page waits, between pages' turns
    )


async def enqueue(database: Database) -> list[str]:
    return await run_once(database, lambda run: enqueue_due(run.session))


async def recover(database: Database, stale_seconds: float) -> list[str]:
    return await run_once(database, lambda run: recover_stale(run.session, stale_seconds))


async def run_queued(database_url: str) -> None:
    database = Database(database_url)
    try:
        await run_pending(database, crawl_settings(database_url))
    finally:
        await database.dispose()


async def crawl(client: httpx.AsyncClient, source_id: str, database_url: str) -> dict:  # type: ignore[type-arg]
    started = await client.post(f"/api/v1/sources/{source_id}/crawls", headers=EDITOR)
    assert started.status_code == 202 and started.json()["status"] == "queued"
    await run_queued(database_url)
    run = await client.get(f"/api/v1/crawls/{started.json()['id']}", headers=EDITOR)
    assert run.status_code == 200
    return run.json()


async def test_two_crawls_of_a_local_site(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    with serve_site() as (base, state):
        source = {
            "name": "晋中市政府网站",
            "start_urls": [f"{base}/list.html"],
            "article_pattern": r"/art/",
            "site": "province",
            "columns": ["news"],
            "publisher": "晋中市人民政府办公厅",
            "delay_seconds": 0,
            "concurrency": 4,
        }
        created = await ingest_client.post("/api/v1/sources", json=source, headers=ADMIN)
        assert created.status_code == 201, created.text
        source_id = created.json()["id"]

        first = await crawl(ingest_client, source_id, database_url)
        assert first["status"] == "done"
        counters = first["counters"]
        assert counters["discovered"] == 9 and counters["added"] == 3 and counters["failed"] == 6
        reasons = {e["url"].rsplit("/", 1)[1]: e["reason"] for e in first["errors"]}
        assert reasons["dead.html"] == "HTTP 404"
        assert "redirects" in reasons["loop.html"] and "too large" in reasons["huge.html"]
        assert "timeout" in reasons["slow.html"] and "image/png" in reasons["image.html"]
        assert reasons["secret.html"] == "disallowed by robots.txt"
        assert not any(path.startswith("/private/") for path, _ in state.requests)

        listing = await ingest_client.get("/api/v1/contents?limit=10", headers=EDITOR)
        titles = {i["title"]: i["id"] for i in listing.json()["items"]}
        assert set(titles) == {
            "关于做好市政府门户网站内容保障工作的通知",  # GBK
            "關於加強政府網站建設的意見",  # Big5
            "市信息中心关于网站栏目共建的通知",  # UTF-8, undeclared
        }
        notice_id = titles["关于做好市政府门户网站内容保障工作的通知"]
        notice = (await ingest_client.get(f"/api/v1/contents/{notice_id}", headers=EDITOR)).json()
        assert notice["published_at"].startswith("2006-10-01T01:00")  # 09:00 Beijing time
        assert "扫一扫" not in notice["body_text"] and "浏览次数" not in notice["body_text"]
        assert notice["written_at"] == "2006-10-01" and "每周至少报送2条" in notice["body_text"]
        [origin] = notice["sources"]
        assert origin["channel"] == "crawl" and origin["url"].endswith("/notice.html")
        big5 = (
            await ingest_client.get(
                f"/api/v1/contents/{titles['關於加強政府網站建設的意見']}", headers=EDITOR
            )
        ).json()
        assert big5["script"] == "traditional" and "網站內容" in big5["body_text"]

        state.revision = 2  # the notice page changes before the next crawl
        state.requests.clear()
        second = await crawl(ingest_client, source_id, database_url)
        assert second["counters"]["changed"] == 1 and second["counters"]["unchanged"] == 2
        assert second["counters"].get("added", 0) == 0
        conditional = dict(state.requests)
        assert conditional["/art/2006/10/2/big5.html"] is not None  # If-None-Match was sent
        notice = (await ingest_client.get(f"/api/v1/contents/{notice_id}", headers=EDITOR)).json()
        assert notice["version"] == 2 and "每周至少报送3条" in notice["body_text"]

        runs = await ingest_client.get(f"/api/v1/crawls?source_id={source_id}", headers=EDITOR)
        assert [r["trigger"] for r in runs.json()["items"]] == ["manual", "manual"]


async def test_scheduled_runs_and_source_validation(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    body = {
        "name": "市政府网站",
        "kind": "feed",
        "start_urls": ["http://127.0.0.1:9/feed.xml"],
        "site": "province",
        "columns": ["news"],
        "publisher": "市政府办公室",
    }
    assert (
        await ingest_client.post("/api/v1/sources", json=body, headers=EDITOR)
    ).status_code == 403
    bad = await ingest_client.post(
        "/api/v1/sources", json={**body, "start_urls": ["not a url"]}, headers=ADMIN
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("body.start_urls")
    unknown = await ingest_client.post(
        "/api/v1/sources", json={**body, "columns": ["nope"]}, headers=ADMIN
    )
    assert unknown.status_code == 422
    source_id = (await ingest_client.post("/api/v1/sources", json=body, headers=ADMIN)).json()["id"]
    database = Database(database_url)
    try:
        assert len(await enqueue(database)) == 1
        assert await enqueue(database) == []  # already queued
        await run_pending(database, crawl_settings(database_url))
        assert await enqueue(database) == []  # ran just now; due again after its interval
    finally:
        await database.dispose()
    [run] = (await ingest_client.get("/api/v1/crawls", headers=EDITOR)).json()["items"]
    assert run["source_id"] == source_id and run["trigger"] == "schedule"
    assert run["status"] == "done" and run["counters"]["failed"] == 1


async def test_per_host_gate_spaces_requests() -> None:
    gate = HostGate(concurrency=1, delay=0.2)
    starts: list[float] = []

    async def one() -> None:
        async with gate:
            starts.append(time.monotonic())

    await asyncio.gather(one(), one(), one())
    assert starts[1] - starts[0] >= 0.19 and starts[2] - starts[1] >= 0.19


async def test_feed_pull_is_incremental(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    with serve_site() as (base, state):
        body = {
            "name": "晋中市政务动态",
            "kind": "feed",
            "start_urls": [f"{base}/feed.xml"],
            "site": "province",
            "columns": ["news"],
            "publisher": "晋中市人民政府办公厅",
            "delay_seconds": 0,
        }
        source_id = (await ingest_client.post("/api/v1/sources", json=body, headers=ADMIN)).json()[
            "id"
        ]
        first = await crawl(ingest_client, source_id, database_url)
        assert first["status"] == "done" and first["counters"] == {"added": 2}
        second = await crawl(ingest_client, source_id, database_url)
        assert second["counters"] == {"unchanged": 1}  # 304 on the feed itself
    items = (await ingest_client.get("/api/v1/contents", headers=EDITOR)).json()["items"]
    item = (await ingest_client.get(f"/api/v1/contents/{items[0]['id']}", headers=EDITOR)).json()
    assert item["sources"][0]["channel"] == "feed"
    assert item["sources"][0]["external_id"].startswith("sxjz-2006-")


async def test_runs_left_running_by_a_dead_worker_are_interrupted_and_retried(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    body = {
        "name": "县政府网站",
        "kind": "feed",
        "start_urls": ["http://127.0.0.1:9/feed.xml"],
        "site": "province",
        "columns": ["news"],
        "publisher": "县政府办公室",
    }
    dead_id = (await ingest_client.post("/api/v1/sources", json=body, headers=ADMIN)).json()["id"]
    alive_id = (
        await ingest_client.post("/api/v1/sources", json={**body, "name": "乡镇"}, headers=ADMIN)
    ).json()["id"]
    settings = crawl_settings(database_url)
    settings.crawl_stale_seconds = 60
    settings.crawl_poll_seconds = 3600
    long_ago = utcnow() - timedelta(minutes=10)
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            dead, alive = new_run(dead_id, "manual"), new_run(alive_id, "schedule")
            dead.status, dead.started_at, dead.heartbeat_at = "running", long_ago, long_ago
            dead.counters = {"discovered": 40, "added": 12}
            alive.status, alive.started_at, alive.heartbeat_at = "running", long_ago, utcnow()
            session.add_all([dead, alive])
            await session.commit()
        before = (await ingest_client.get(f"/api/v1/crawls/{dead.id}", headers=EDITOR)).json()
        assert before["status"] == "running" and before["status_reason"] is None
        # The worker's jobs: recovery (its first pass is at worker start), then the crawl job
        # runs what is queued, pass after pass.
        worker_jobs = {job.name: job for job in jobs(Deps.from_settings(settings))}
        assert await run_pass(database, worker_jobs["crawl-recovery"]) == 1
        assert await run_pass(database, worker_jobs["crawl-schedule"]) == 0  # both sources busy
        while worker_jobs["crawl"].wants_more(await run_pass(database, worker_jobs["crawl"])):
            pass
        shown = (await ingest_client.get(f"/api/v1/crawls/{dead.id}", headers=EDITOR)).json()
        assert shown["status"] == "interrupted" and shown["finished_at"] is not None
        assert "no heartbeat" in shown["status_reason"] and "crashed" in shown["status_reason"]
        assert shown["counters"] == {"discovered": 40, "added": 12}  # progress so far is kept
        # A run whose worker still beats is left alone.
        kept = (await ingest_client.get(f"/api/v1/crawls/{alive.id}", headers=EDITOR)).json()
        assert kept["status"] == "running"
        # The source became due again: a recovery run was queued and has run.
        runs = (
            await ingest_client.get(f"/api/v1/crawls?source_id={dead_id}", headers=EDITOR)
        ).json()["items"]
        assert [r["trigger"] for r in runs] == ["recovery", "manual"]
        assert runs[0]["status"] == "done" and runs[0]["counters"]["failed"] == 1
        # The dead worker coming back late cannot write its run back to life.
        await run_once(
            database, lambda run: write_progress(run.session, dead.id, {}, [], status="done")
        )
        again = (await ingest_client.get(f"/api/v1/crawls/{dead.id}", headers=EDITOR)).json()
        assert again["status"] == "interrupted"
        # A recovery run that dies too is not retried again (no crash loop).
        async with database.sessions() as session:
            row = await session.get(CrawlRun, runs[0]["id"])
            assert row is not None
            row.status, row.heartbeat_at = "running", long_ago
            session.add(row)
            await session.commit()
        assert await recover(database, 60) == [runs[0]["id"]]
        runs = (
            await ingest_client.get(f"/api/v1/crawls?source_id={dead_id}", headers=EDITOR)
        ).json()["items"]
        assert [r["status"] for r in runs] == ["interrupted", "interrupted"]
        assert await recover(database, 60) == []
    finally:
        await database.dispose()
