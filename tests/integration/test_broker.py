"""The shared bus: outbox relay → real broker → consumer runner, with inbox dedupe."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.bus import new_consumer, new_producer
from common.consumer import ConsumerRunner
from common.db import Database, new_metadata
from common.events import CloudEvent, ContentRetractionRequested
from common.messaging import Inbox, Outbox, messaging_tables
from common.relay import OutboxRelay
from common.settings import ServiceSettings


async def test_relay_publishes_and_consumer_dedupes(
    kafka_bootstrap: str, database_url: str
) -> None:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    settings = ServiceSettings(kafka_bootstrap=kafka_bootstrap)
    outbox = Outbox(tables.outbox, "/test")
    async with database.sessions() as session:
        for n in range(3):
            data = ContentRetractionRequested(content_id=f"c{n}", reason="错误", requested_by="e")
            await outbox.add(session, data)
        await session.commit()

    producer = new_producer(settings)
    await producer.start()
    relay = OutboxRelay(database, tables.outbox, producer)
    assert await relay.publish_batch() == 3
    assert await relay.pending() == 0

    seen: list[str] = []
    all_three = asyncio.Event()

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        seen.append(event.data["content_id"])
        if len(seen) == 3:
            all_three.set()

    consumer = new_consumer(settings, "test-dedupe", [ContentRetractionRequested.TOPIC])
    await consumer.start()
    runner = ConsumerRunner(
        database,
        Inbox(tables.inbox, "test"),
        consumer,
        producer,
        {ContentRetractionRequested.TOPIC: handler},
    )
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(all_three.wait(), 30)
        # a redelivered event (same id) changes nothing
        async with database.engine.connect() as conn:
            row = (await conn.execute(select(tables.outbox).limit(1))).one()
        await producer.send_and_wait(row.topic, row.payload, key=row.key.encode())
        await asyncio.sleep(1.0)
        assert sorted(seen) == ["c0", "c1", "c2"]
        async with database.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(tables.inbox))).scalar()
        assert count == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await database.dispose()
