"""Runs a service's event handlers: inbox dedupe, DB commit, then the Kafka offset commit.

For each message: decode → skip if the event id is in the inbox → handle → record in the inbox →
commit the database → commit offset + 1. A failing handler is retried a bounded number of times
with back-off; then the message goes to `<topic>.dlq` with the error, and the offset moves on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.backoff import Backoff
from common.db import Database
from common.events import CloudEvent, dead_letter_topic
from common.logs import event_id_var
from common.messaging import Inbox
from common.observability import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


class ConsumerRunner:
    """Consumes the topics of a handler table with one consumer group per service."""

    def __init__(
        self,
        database: Database,
        inbox: Inbox,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        handlers: Mapping[str, Handler],
        max_attempts: int = 5,
        first_backoff: float = 0.2,
        topic_prefix: str = "",
    ) -> None:
        """`handlers` are keyed by logical topic; the consumer subscribes to prefixed names."""
        self.database = database
        self.topic_prefix = topic_prefix
        self.inbox = inbox
        self.consumer = consumer
        self.producer = producer
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.first_backoff = first_backoff
        self.assigned = asyncio.Event()

    async def run(self) -> None:
        """Consume until cancelled; broker trouble (a lost group, a failed commit) is survived.

        A failed offset commit only means a redelivery later, which the inbox makes harmless.
        """
        backoff = Backoff()
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except KafkaError as error:
                log.warning("consumer interrupted (%r); resuming in %.1fs", error, backoff.delay)
                await backoff.wait()

    async def _consume(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=500, max_records=200)
            if self.consumer.assignment():
                self.assigned.set()
            # Per partition, the first offset not yet committed: where to rewind on trouble.
            uncommitted = {tp: records[0].offset for tp, records in batches.items() if records}
            try:
                for partition, records in batches.items():
                    for record in records:
                        await self.process(record)
                        await self.consumer.commit({partition: record.offset + 1})
                        uncommitted[partition] = record.offset + 1
            except KafkaError:
                self._rewind(uncommitted)
                raise

    def _rewind(self, positions: dict[TopicPartition, int]) -> None:
        """Fetched records past a failed commit would be skipped; fetch them again instead."""
        assigned = self.consumer.assignment()
        for partition, offset in positions.items():
            if partition in assigned:
                self.consumer.seek(partition, offset)

    async def process(self, record: ConsumerRecord) -> None:
        try:
            event = CloudEvent.from_bytes(record.value)
        except ValueError as error:
            await self.dead_letter(record, f"undecodable event: {error}")
            return
        token = event_id_var.set(event.id)
        try:
            await self._handle_with_retries(record, event)
        finally:
            event_id_var.reset(token)

    async def _handle_with_retries(self, record: ConsumerRecord, event: CloudEvent) -> None:
        topic = record.topic.removeprefix(self.topic_prefix)
        handler = self.handlers[topic]
        backoff = Backoff(self.first_backoff, ceiling=5.0)
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._handle_once(handler, topic, event)
                EVENTS_CONSUMED.labels(topic=topic).inc()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "handler for %s failed (attempt %d/%d): %r",
                    record.topic,
                    attempt,
                    self.max_attempts,
                    error,
                )
                if attempt == self.max_attempts:
                    await self.dead_letter(record, repr(error))
                    return
                await backoff.wait()

    async def _handle_once(self, handler: Handler, topic: str, event: CloudEvent) -> None:
        async with self.database.sessions() as session:
            if await self.inbox.seen(session, event.id):
                return
            await handler(session, event)
            await self.inbox.record(session, event.id, topic)
            await session.commit()

    async def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.error("dead-lettering %s offset %d: %s", record.topic, record.offset, reason)
        headers = [("error", reason[:1000].encode()), ("offset", str(record.offset).encode())]
        await self.producer.send_and_wait(
            dead_letter_topic(record.topic), record.value, key=record.key, headers=headers
        )
        EVENTS_DEAD_LETTERED.labels(topic=record.topic).inc()
