"""The shared bus: outbox relay → real broker → consumer runner, with inbox dedupe."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.bus import new_consumer, new_producer
from common.consumer import ConsumerRunner
from common.db import Database, new_metadata
from common.events import CloudEvent, ContentRetractionRequested, dead_letter_topic
from common.messaging import Inbox, Outbox, messaging_tables
from common.relay import OutboxRelay
from common.settings import ServiceSettings


async def test_relay_publishes_and_consumer_dedupes(
    kafka_bootstrap: str, kafka_prefix: str, database_url: str
) -> None:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    settings = ServiceSettings(kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=kafka_prefix)
    outbox = Outbox(tables, "/test")
    async with database.sessions() as session:
        for n in range(3):
            data = ContentRetractionRequested(content_id=f"c{n}", reason="错误", requested_by="e")
            await outbox.add(session, data)
        await session.commit()

    producer = new_producer(settings)
    await producer.start()
    relay = OutboxRelay(database, tables.outbox, producer, topic_prefix=kafka_prefix)
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
        topic_prefix=kafka_prefix,
    )
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(all_three.wait(), 30)
        # a redelivered event (same id) changes nothing
        async with database.engine.connect() as conn:
            row = (await conn.execute(select(tables.outbox).limit(1))).one()
        await producer.send_and_wait(kafka_prefix + row.topic, row.payload, key=row.key.encode())
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


async def test_failing_and_undecodable_events_go_to_the_dead_letter_topic(
    kafka_bootstrap: str, kafka_prefix: str, database_url: str
) -> None:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    settings = ServiceSettings(kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=kafka_prefix)
    producer = new_producer(settings)
    await producer.start()
    topic = kafka_prefix + ContentRetractionRequested.TOPIC
    attempts: list[str] = []
    handled = asyncio.Event()

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        attempts.append(event.data["content_id"])
        if event.data["content_id"] == "poison":
            raise RuntimeError("cannot handle this one")
        handled.set()

    logical = ContentRetractionRequested.TOPIC
    consumer = new_consumer(settings, "test-dlq", [logical])
    dead = new_consumer(settings, "test-dlq-reader", [dead_letter_topic(logical)])
    await consumer.start()
    await dead.start()
    runner = ConsumerRunner(
        database,
        Inbox(tables.inbox, "test"),
        consumer,
        producer,
        {logical: handler},
        max_attempts=3,
        first_backoff=0.01,
        topic_prefix=kafka_prefix,
    )
    task = asyncio.create_task(runner.run())
    try:
        poison = ContentRetractionRequested(content_id="poison", reason="x", requested_by="e")
        good = ContentRetractionRequested(content_id="good", reason="x", requested_by="e")
        await producer.send_and_wait(topic, b"\xff not json", key=b"poison")
        poison_event = poison.to_event("/t")
        poison_id = poison_event.id
        await producer.send_and_wait(topic, poison_event.to_bytes(), key=b"poison")
        await producer.send_and_wait(topic, good.to_event("/t").to_bytes(), key=b"poison")
        await asyncio.wait_for(handled.wait(), 30)
        letters = []
        async with asyncio.timeout(30):
            while len(letters) < 2:
                batch = await dead.getmany(timeout_ms=500)
                letters += [r for records in batch.values() for r in records]
        reasons = sorted(dict(r.headers)["error"].decode() for r in letters)
        assert "cannot handle this one" in reasons[0] and "undecodable" in reasons[1]
        assert attempts == ["poison"] * 3 + ["good"]  # bounded retries, then the next one
        async with database.engine.connect() as conn:
            recorded = set((await conn.execute(select(tables.inbox.c.event_id))).scalars())
        assert poison_id not in recorded  # …and a dead-lettered event is not marked handled
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await dead.stop()
        await producer.stop()
        await database.dispose()
