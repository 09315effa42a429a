"""Publishes outbox rows to Kafka and marks only what the broker acknowledged."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, func, select, update

from common.backoff import Backoff
from common.db import Database
from common.events import utcnow
from common.observability import OUTBOX_PUBLISHED

log = logging.getLogger(__name__)


class OutboxRelay:
    """Polls the outbox in id order; a row is marked published only after its ack.

    A crash between ack and mark re-sends the row on restart: consumers dedupe by event id.
    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several relays of one service share the work.
    """

    def __init__(
        self,
        database: Database,
        table: Table,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        idle_seconds: float = 0.02,
        topic_prefix: str = "",
    ) -> None:
        self.database = database
        self.topic_prefix = topic_prefix
        self.table = table
        self.producer = producer
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds

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
                .values(published_at=utcnow())
            )
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    async def pending(self) -> int:
        query = select(func.count()).where(self.table.c.published_at.is_(None))
        async with self.database.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

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
                await asyncio.sleep(self.idle_seconds)
