"""Public answers from memory: no statement per hit, changes of any process shown in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from common.events import ContentRetractionRequested
from services.distribute.app import create_app
from services.distribute.models import Site
from services.distribute.page_cache import PageCache
from tests.integration.distribute.conftest import (
    Distribute,
    FakeIngest,
    ingested,
    make_settings,
)

RECHECK = 0.3
LIST = "/api/v1/sites/province/columns/notices/items"


@pytest.fixture
async def reader(database_url: str, distribute: Distribute) -> AsyncIterator[Distribute]:
    """A second replica on the same database that reads only: `distribute` writes."""
    settings = make_settings(database_url, page_recheck_seconds=RECHECK, seed_demo=False)
    app = create_app(settings, ingest_transport=httpx.MockTransport(FakeIngest()))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://distribute") as client:
            yield Distribute(app, client, distribute.ingest, settings)


@contextmanager
def statements(replica: Distribute) -> Iterator[list[str]]:
    """The SQL statements the replica's engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = replica.app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def listed(replica: Distribute) -> list[str]:
    response = await replica.client.get(LIST)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_a_repeated_read_runs_no_statement(distribute: Distribute) -> None:
    await distribute.publish(ingested("c1"))
    first = await distribute.client.get(LIST)
    feed = await distribute.client.get("/feeds/province/notices.rss")
    article = await distribute.client.get("/api/v1/sites/province/items/c1")
    with statements(distribute) as seen:
        again = await distribute.client.get(LIST)
        feed_again = await distribute.client.get("/feeds/province/notices.rss")
        article_again = await distribute.client.get("/api/v1/sites/province/items/c1")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert feed_again.content == feed.content and article_again.content == article.content
    # at most the stamp's check, should the recheck interval pass on a slow machine
    assert len(seen) <= 1 and all("change_feed" in s for s in seen), seen


async def test_this_process_sees_its_own_publication_at_once(distribute: Distribute) -> None:
    await distribute.publish(ingested("c1"))
    assert await listed(distribute) == ["c1"]
    await distribute.publish(ingested("c2"))
    assert await listed(distribute) == ["c2", "c1"]
    await distribute.handle(
        ContentRetractionRequested(content_id="c2", reason="内容有误", requested_by="editor")
    )
    assert await listed(distribute) == ["c1"]
    assert (await distribute.client.get("/api/v1/sites/province/items/c2")).status_code == 410


async def test_another_replicas_changes_show_within_the_recheck(
    distribute: Distribute, reader: Distribute
) -> None:
    await distribute.publish(ingested("c1"))
    assert await listed(reader) == ["c1"]
    article = await reader.client.get("/api/v1/sites/province/items/c1")
    assert article.status_code == 200
    await distribute.publish(ingested("c2"))
    await distribute.handle(
        ContentRetractionRequested(content_id="c1", reason="内容有误", requested_by="editor")
    )
    await asyncio.sleep(RECHECK + 0.1)
    assert await listed(reader) == ["c2"]
    assert (await reader.client.get("/api/v1/sites/province/items/c1")).status_code == 410


async def test_a_site_edit_renews_the_feed(distribute: Distribute, reader: Distribute) -> None:
    await distribute.publish(ingested("c1"))
    before = await reader.client.get("/feeds/province/notices.atom")
    assert "四川省人民政府" in before.text
    async with distribute.app.state.db.sessions() as session:
        site = await session.get(Site, "province")
        assert site is not None
        site.name, site.render_rev = "四川省政府门户", site.render_rev + 1
        await session.commit()
    await asyncio.sleep(RECHECK + 0.1)
    after = await reader.client.get("/feeds/province/notices.atom")
    assert "四川省政府门户" in after.text and after.headers["etag"] != before.headers["etag"]


async def test_a_render_overtaken_by_a_change_is_not_kept(distribute: Distribute) -> None:
    """A render that read before a commit must not be served after it."""
    pages = PageCache(distribute.app.state.db, recheck_seconds=0, max_bytes=2**20)
    release, renders = asyncio.Event(), []

    async def slow(conn: AsyncConnection) -> bytes:
        renders.append("slow")
        await release.wait()
        return b"before"

    async def quick(conn: AsyncConnection) -> bytes:
        return b"other"

    await pages.page("other", quick)  # the stamp is known
    pending = asyncio.create_task(pages.page("key", slow))
    await asyncio.sleep(0.05)
    await distribute.publish(ingested("c1"))  # a change while `slow` renders
    await pages.page("other", quick)  # sees the new stamp
    release.set()
    assert (await pending).body == b"before"
    assert (await pages.page("key", slow)).body == b"before" and renders == ["slow", "slow"]


async def test_memory_is_bounded_and_errors_are_not_kept(distribute: Distribute) -> None:
    pages = PageCache(distribute.app.state.db, recheck_seconds=60, max_bytes=100)

    async def body(conn: AsyncConnection) -> bytes:
        return b"x" * 40

    for key in range(10):
        await pages.page(key, body)
    assert len(pages) == 2  # 2 × 41 ≤ 100 < 3 × 41
    calls = []

    async def failing(conn: AsyncConnection) -> bytes:
        calls.append(1)
        raise LookupError("no such item")

    for _ in range(2):
        with pytest.raises(LookupError):
            await pages.page("missing", failing)
    assert len(calls) == 2 and len(pages) == 2


async def test_a_request_for_a_fresh_answer_sees_every_commit(
    distribute: Distribute, reader: Distribute
) -> None:
    await distribute.publish(ingested("c1"))
    assert await listed(reader) == ["c1"]
    await distribute.publish(ingested("c2"))
    fresh = await reader.client.get(LIST, headers={"cache-control": "no-cache"})
    assert [item["id"] for item in fresh.json()["items"]] == ["c2", "c1"]
