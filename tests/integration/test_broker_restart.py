"""A broker that starts over empty loses nothing: what it had acknowledged is sent again.

The local broker keeps its log in memory. These tests kill it (SIGKILL) with events it had
acknowledged and nobody had consumed yet, start a new one on the same port, and check that a
service's worker gets every event to its consumer exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from common.bus import broker_cluster_id
from common.db import Database, new_metadata
from common.events import CloudEvent, ContentRetractionRequested, utcnow
from common.messaging import MessagingTables, Outbox, messaging_tables
from common.settings import ServiceSettings
from common.testing import free_port
from common.worker import ServiceWorker
from kitchen.broker import prepare_broker, start_broker, stop_process, wait_listening

TOPIC = ContentRetractionRequested.TOPIC


@dataclass
class Broker:
    """A broker of the test's own, which the test can kill and start over on the same port."""

    port: int
    log: Path
    process: object = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        process = self.process = start_broker(self.port, self.log)
        await asyncio.to_thread(wait_listening, process, self.port, self.log)
        await prepare_broker(self.bootstrap)

    def kill(self) -> None:
        self.process.kill()  # type: ignore[attr-defined]
        self.process.wait()  # type: ignore[attr-defined]


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    broker = Broker(free_port(), tmp_path / "tansu.log")
    await broker.start()
    try:
        yield broker
    finally:
        stop_process(broker.process)  # type: ignore[arg-type]


@dataclass
class Service:
    """A database with an outbox and inbox, and a handler that counts what reaches it."""

    database: Database
    tables: MessagingTables
    handled: list[str] = field(default_factory=list)

    async def emit(self, *content_ids: str) -> None:
        outbox = Outbox(self.tables, "/test")
        async with self.database.sessions() as session:
            for content_id in content_ids:
                data = ContentRetractionRequested(
                    content_id=content_id, reason="错", requested_by="e"
                )
                await outbox.add(session, data)
            await session.commit()

    async def handler(self, session: AsyncSession, event: CloudEvent) -> None:
        self.handled.append(event.data["content_id"])

    def worker(self, bootstrap: str, consuming: bool = True) -> ServiceWorker:
        settings = ServiceSettings(kafka_bootstrap=bootstrap, broker_check_seconds=0.2)
        handlers = {TOPIC: self.handler} if consuming else {}
        return ServiceWorker("restart-test", settings, self.database, self.tables, handlers)

    async def inbox_count(self) -> int:
        async with self.database.engine.connect() as conn:
            query = select(func.count()).select_from(self.tables.inbox)
            return int((await conn.execute(query)).scalar_one())


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield Service(database, tables)
    finally:
        await database.dispose()


async def until(check, seconds: float = 40.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.1)


async def test_events_acknowledged_by_a_dead_broker_reach_the_consumer(
    broker: Broker, service: Service
) -> None:
    await service.emit("a1", "a2", "a3")
    relay_only = service.worker(broker.bootstrap, consuming=False)
    await relay_only.start()
    try:
        await until(lambda: _zero(relay_only.relay.pending()))
    finally:
        await relay_only.stop()
    # The broker acknowledged all three; nobody read them; the whole machine dies.
    broker.kill()
    await broker.start()

    worker = service.worker(broker.bootstrap)
    await worker.start()
    try:
        await until(lambda: _true(len(service.handled) >= 3))
        await asyncio.sleep(0.5)
        assert sorted(service.handled) == ["a1", "a2", "a3"]
        assert await service.inbox_count() == 3
    finally:
        await worker.stop()


async def test_a_running_worker_notices_the_broker_started_over(
    broker: Broker, service: Service
) -> None:
    worker = service.worker(broker.bootstrap)
    await worker.start()
    try:
        await service.emit("b1", "b2")
        await until(lambda: _true(len(service.handled) == 2))
        old_id = worker.relay.broker_id
        broker.kill()
        await broker.start()
        new_id = await broker_cluster_id(broker.bootstrap)
        assert new_id != old_id
        await until(lambda: _true(worker.relay.broker_id == new_id))
        await service.emit("b3")
        await until(lambda: _true(len(service.handled) == 3))
        await asyncio.sleep(1.0)  # b1 and b2 came again (re-sent, re-read) and were skipped
        assert sorted(service.handled[:2]) == ["b1", "b2"] and service.handled[2:] == ["b3"]
        assert await service.inbox_count() == 3
        assert await worker.relay.pending() == 0
    finally:
        await worker.stop()


async def test_only_the_retention_window_is_sent_again_and_older_rows_are_pruned(
    broker: Broker, service: Service
) -> None:
    await service.emit("old", "recent")
    relay_only = service.worker(broker.bootstrap, consuming=False)
    await relay_only.start()
    try:
        await until(lambda: _zero(relay_only.relay.pending()))
    finally:
        await relay_only.stop()  # the relay stands still while the test looks at its rows
    relay = relay_only.relay
    table = service.tables.outbox
    async with service.database.engine.begin() as conn:
        await conn.execute(
            update(table)
            .where(table.c.key == "old")
            .values(published_at=utcnow() - relay.retention - timedelta(hours=1))
        )
    assert await relay.follow_broker(relay.broker_id or "") == 0  # same broker: nothing
    assert await relay.follow_broker("another-broker") == 1  # only "recent" goes again
    assert await relay.prune() == 1  # "old" is past the window
    async with service.database.engine.connect() as conn:
        keys = (await conn.execute(select(table.c.key, table.c.published_at))).all()
    assert [(key, at is None) for key, at in keys] == [("recent", True)]


async def _zero(count) -> bool:  # type: ignore[no-untyped-def]
    return await count == 0


async def _true(value: bool) -> bool:
    return value
