"""Publishes outbox rows to Kafka and marks only what the broker acknowledged.

Each row remembers which broker acknowledged it (the cluster id). A broker that comes back empty —
the local memory broker after a crash, a wiped cluster — has a new id, and every row the old one
acknowledged within the retention window goes out again. Consumers dedupe by event id (inbox).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, delete, func, or_, select, update

from common.backoff import Backoff
from common.db import Database
from common.doorbell import Doorbell
from common.events import utcnow
from common.messaging import OUTBOX_CHANNEL
from common.observability import OUTBOX_PUBLISHED, OUTBOX_REQUEUED

log = logging.getLogger(__name__)


class OutboxRelay:
    """Sends the outbox in id order; a row is marked published only after its ack.

    It looks when rows are announced (`written`: rung on commit in this process, and on
    PostgreSQL by the NOTIFY of any process, `hear_writes`) and otherwise every `poll_seconds`,
    for rows nobody could announce to it (another process on SQLite, a notification lost while
    it reconnected). While it finds full batches it goes on at once.

    A crash between ack and mark re-sends the row on restart: consumers dedupe by event id.
    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several relays of one service share the work.
    """

    def __init__(
        self,
        database: Database,
        table: Table,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        topic_prefix: str = "",
        retention: timedelta = timedelta(days=7),
        written: Doorbell | None = None,
    ) -> None:
        self.database = database
        self.table = table
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.topic_prefix = topic_prefix
        self.retention = retention
        self.written = written or Doorbell()
        self.broker_id: str | None = None

    async def follow_broker(self, broker_id: str) -> int:
        """Publish to the broker `broker_id` from now on; returns how many rows were re-queued.

        Rows acknowledged by any other broker (or by one not known, before ids were recorded)
        within the retention window are marked unpublished, so they go out again in id order.
        Several relays of one service may do this at once: a row re-published by one is marked
        with the new id and left alone by the others.
        """
        if broker_id == self.broker_id:
            return 0
        column = self.table.c
        requeue = (
            update(self.table)
            .where(column.published_at.is_not(None))
            .where(column.published_at >= utcnow() - self.retention)
            .where(or_(column.published_to.is_(None), column.published_to != broker_id))
            .values(published_at=None, published_to=None)
        )
        async with self.database.engine.begin() as conn:
            requeued = (await conn.execute(requeue)).rowcount or 0
        self.broker_id = broker_id
        if requeued:
            OUTBOX_REQUEUED.inc(requeued)
            log.warning(
                "broker %s never saw %d published events; sending them again", broker_id, requeued
            )
        return requeued

    async def publish_batch(self) -> int:
        """Publish up to one batch; returns how many rows were published."""
        query = (
            select(self.table.c.id, self.table.c.topic, self.table.c.key, self.table.c.payload)
            .where(self.table.c.published_at.is_(None))
            .order_by(self.table.c.id)
            .limit(self.batch_size)
        )
        if not self.database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        # Read before sending: if the broker changes mid-batch, the rows carry the old id and
        # are sent again once the change is noticed, never counted as held by the new broker.
        broker_id = self.broker_id
        async with self.database.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                return 0
            futures = [
                await self.producer.send(
                    self.topic_prefix + row.topic, row.payload, key=row.key.encode()
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(
                update(self.table)
                .where(self.table.c.id.in_([row.id for row in rows]))
                .values(published_at=utcnow(), published_to=broker_id)
            )
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    async def pending(self) -> int:
        query = select(func.count()).where(self.table.c.published_at.is_(None))
        async with self.database.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def prune(self) -> int:
        """Delete published rows older than the retention window; returns how many."""
        old = delete(self.table).where(self.table.c.published_at < utcnow() - self.retention)
        async with self.database.engine.begin() as conn:
            return (await conn.execute(old)).rowcount or 0

    async def run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                published = await self.publish_batch()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff.delay)
                await backoff.wait()
                continue
            if published < self.batch_size:
                await self.written.wait(self.poll_seconds)

    async def hear_writes(self) -> None:
        """On PostgreSQL, until cancelled: ring `written` at every NOTIFY of a commit that wrote
        outbox rows, on one connection of the pool held for it. Once (re)connected it rings too:
        rows committed while it was not listening go out without waiting for the poll."""
        if self.database.is_sqlite:
            return
        backoff = Backoff()
        while True:
            try:
                async with self.database.engine.connect() as connection:
                    await self._listen(await connection.get_raw_connection())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database went away: the poll covers the gap
                log.warning("outbox notifications lost (%r); listening again", error)
                await backoff.wait()
            else:
                backoff.reset()

    async def _listen(self, raw: Any) -> None:
        driver = raw.driver_connection  # asyncpg's connection
        closed = asyncio.Event()

        def heard(*_: object) -> None:
            self.written.ring()

        def lost(_: object) -> None:
            closed.set()

        driver.add_termination_listener(lost)
        await driver.add_listener(OUTBOX_CHANNEL, heard)
        try:
            self.written.ring()
            await closed.wait()
            raise ConnectionError("the listening connection closed")
        finally:
            driver.remove_termination_listener(lost)
            if not driver.is_closed():
                await driver.remove_listener(OUTBOX_CHANNEL, heard)
