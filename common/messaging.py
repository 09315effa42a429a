"""Outbox and inbox tables: the only way an event leaves or enters a service's database.

A state change and the event announcing it are written in one transaction (outbox). A consumer
records the event id it handled in the same transaction as its effects (inbox), so a redelivered
event is skipped.

A transaction that writes outbox rows announces them on commit, so the relay sends them at once
rather than at its next poll: in this process by the tables' `written` doorbell, across
processes on PostgreSQL by `NOTIFY` on `OUTBOX_CHANNEL` (an API process writes, the worker
process of the same service relays; `common.relay` listens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import insert_rows
from common.doorbell import Doorbell
from common.events import CloudEvent, EventData, utcnow

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


# NOTIFY is per database, and each service has its own.
OUTBOX_CHANNEL = "kitchen_outbox"
_ANNOUNCED = "outbox_announced"  # session.info: the transaction that has announced its rows


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    written: Doorbell = field(default_factory=Doorbell, compare=False)


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Declare the outbox and inbox tables in a service's own metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        # Cluster id of the broker that acknowledged the row (see common.relay).
        Column("published_to", String(200), nullable=True),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)


class Outbox:
    """Writes events into the outbox inside the caller's transaction; the relay publishes them."""

    def __init__(self, tables: MessagingTables, source: str) -> None:
        self.table = tables.outbox
        self.written = tables.written
        self.source = source

    async def add(self, session: AsyncSession, data: EventData) -> CloudEvent:
        event = data.to_event(self.source)
        await self.add_event(session, data.TOPIC, event)
        return event

    async def add_event(self, session: AsyncSession, topic: str, event: CloudEvent) -> None:
        await session.execute(insert(self.table).values(**self._row(topic, event, utcnow())))
        await self._announce(session)

    async def add_many(self, session: AsyncSession, items: Sequence[EventData]) -> None:
        """`add` for many events at once (one executemany per chunk): e.g. the thousands of
        `delivery.updated` of one fan-out. Each remains its own message on its topic."""
        now = utcnow()
        rows = [self._row(d.TOPIC, d.to_event(self.source), now) for d in items]
        await insert_rows(session, self.table, rows)
        await self._announce(session)

    async def _announce(self, session: AsyncSession) -> None:
        """Once per transaction: ring `written` when it commits, and on PostgreSQL queue the
        NOTIFY that the database delivers on commit (and drops on rollback)."""
        sync = session.sync_session
        transaction = sync.get_transaction()
        if transaction is None or sync.info.get(_ANNOUNCED) is transaction:
            return
        sync.info[_ANNOUNCED] = transaction
        self.written.ring_after_commit(session)
        if sync.get_bind().dialect.name == "postgresql":
            await session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))

    @staticmethod
    def _row(topic: str, event: CloudEvent, now: datetime) -> dict[str, object]:
        return {
            "event_id": event.id,
            "topic": topic,
            "key": event.subject or event.id,
            "payload": event.to_bytes(),
            "created_at": now,
        }


class Inbox:
    """Remembers which events a consumer already handled."""

    def __init__(self, table: Table, consumer: str) -> None:
        self.table = table
        self.consumer = consumer

    async def seen(self, session: AsyncSession | AsyncConnection, event_id: str) -> bool:
        query = select(self.table.c.event_id).where(
            self.table.c.consumer == self.consumer, self.table.c.event_id == event_id
        )
        return (await session.execute(query)).first() is not None

    async def record(self, session: AsyncSession, event_id: str, topic: str) -> None:
        await session.execute(
            insert(self.table).values(
                consumer=self.consumer, event_id=event_id, topic=topic, processed_at=utcnow()
            )
        )
