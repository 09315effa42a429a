"""The relay sends a committed outbox row at once when it hears of the commit, not at its poll.

In its own process it hears through the tables' doorbell; on PostgreSQL it hears any process
(an API process writes, the worker relays) through NOTIFY. The poll here is a minute, so a row
sent within seconds was sent because the relay heard of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select

from common.bus import new_producer
from common.db import Database, new_metadata
from common.doorbell import Doorbell
from common.events import ContentRetractionRequested
from common.messaging import MessagingTables, Outbox, messaging_tables
from common.relay import OutboxRelay
from common.settings import ServiceSettings
from common.testing import database_kind_under_test

POLL_SECONDS = 60.0
HEARD_WITHIN = 10.0


@pytest.fixture
async def schema(database_url: str) -> AsyncIterator[tuple[Database, MessagingTables]]:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    database = Database(database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield database, tables
    finally:
        await database.dispose()


@asynccontextmanager
async def relaying(
    database: Database, tables: MessagingTables, written: Doorbell, settings: ServiceSettings
) -> AsyncIterator[OutboxRelay]:
    producer = new_producer(settings)
    await producer.start()
    relay = OutboxRelay(
        database,
        tables.outbox,
        producer,
        poll_seconds=POLL_SECONDS,
        topic_prefix=settings.kafka_topic_prefix,
        written=written,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(relay.hear_writes())]
    try:
        await asyncio.sleep(1.0)  # the first pass found nothing; the relay waits now
        yield relay
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


async def write_one(database: Database, outbox: Outbox, content_id: str) -> None:
    async with database.sessions() as session:
        data = ContentRetractionRequested(content_id=content_id, reason="错误", requested_by="e")
        await outbox.add(session, data)
        await outbox.add(session, data)  # two rows, one announcement
        await session.commit()


async def published_within(database: Database, tables: MessagingTables, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    query = select(tables.outbox.c.published_at)
    while time.monotonic() < deadline:
        async with database.engine.connect() as connection:
            marks = (await connection.execute(query)).scalars().all()
        if marks and all(mark is not None for mark in marks):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_row_committed_in_the_relays_process_goes_out_at_once(
    schema: tuple[Database, MessagingTables], kafka_bootstrap: str, kafka_prefix: str
) -> None:
    database, tables = schema
    settings = ServiceSettings(kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=kafka_prefix)
    async with relaying(database, tables, tables.written, settings):
        await write_one(database, Outbox(tables, "/test"), "c1")
        assert await published_within(database, tables, HEARD_WITHIN)


@pytest.mark.skipif(
    database_kind_under_test() != "postgres", reason="NOTIFY reaches other processes on PostgreSQL"
)
async def test_on_postgresql_a_row_another_process_commits_goes_out_at_once(
    schema: tuple[Database, MessagingTables],
    database_url: str,
    kafka_bootstrap: str,
    kafka_prefix: str,
) -> None:
    database, tables = schema
    settings = ServiceSettings(kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=kafka_prefix)
    # The relay's bell is its own: only the database's notification can ring it.
    async with relaying(database, tables, Doorbell(), settings):
        elsewhere = Database(database_url)  # another process: its own engine and outbox bell
        try:
            await write_one(elsewhere, Outbox(messaging_tables(new_metadata()), "/api"), "c2")
        finally:
            await elsewhere.dispose()
        assert await published_within(database, tables, HEARD_WITHIN)
