"""The background half of a service: outbox relay, consumer runner, and periodic jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from common.bus import ClusterIdReader, new_consumer, new_producer, wait_for_broker
from common.consumer import ConsumerRunner, Handler
from common.db import Database
from common.jobs import Job, run_forever
from common.messaging import Inbox, MessagingTables
from common.relay import OutboxRelay
from common.settings import ServiceSettings

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600.0


class ServiceWorker:
    """Starts the relay and the consumer group; `ready()` once partitions are assigned."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        database: Database,
        tables: MessagingTables,
        handlers: Mapping[str, Handler],
        jobs: Sequence[Job] = (),
    ) -> None:
        self.name = name
        self.settings = settings
        self.database = database
        self.tables = tables
        self.handlers = handlers
        self.jobs = jobs
        self.tasks: list[asyncio.Task[None]] = []
        self.runner: ConsumerRunner | None = None
        self.started = False

    def ready(self) -> bool:
        return self.started and (self.runner is None or self.runner.assigned.is_set())

    async def backlog(self) -> dict[str, int]:
        """Unpublished outbox rows and unconsumed messages: both zero means drained."""
        lag = 0
        if self.runner is not None:
            for partition in self.consumer.assignment():
                highwater = self.consumer.highwater(partition) or 0
                lag += max(0, highwater - await self.consumer.position(partition))
        return {"outbox_pending": await self.relay.pending(), "consumer_lag": lag}

    async def start(self) -> None:
        await wait_for_broker(self.settings.kafka_bootstrap, within_seconds=60)
        self.producer = new_producer(self.settings)
        await self.producer.start()
        prefix = self.settings.kafka_topic_prefix
        self.relay = OutboxRelay(
            self.database,
            self.tables.outbox,
            self.producer,
            poll_seconds=self.settings.outbox_poll_seconds,
            topic_prefix=prefix,
            retention=timedelta(days=self.settings.outbox_retention_days),
            written=self.tables.written,
        )
        # Before the first batch: rows an earlier, now vanished broker acknowledged go again.
        self.cluster_id = ClusterIdReader(self.settings.kafka_bootstrap)
        await self.relay.follow_broker(await self.cluster_id.read())
        self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-relay"))
        hearing = self.relay.hear_writes()
        self.tasks.append(asyncio.create_task(hearing, name=f"{self.name}-outbox-notifications"))
        if self.handlers:
            consumer = new_consumer(self.settings, f"kitchen-{self.name}", list(self.handlers))
            await consumer.start()
            self.consumer = consumer
            self.runner = ConsumerRunner(
                self.database,
                Inbox(self.tables.inbox, self.name),
                consumer,
                self.producer,
                self.handlers,
                max_attempts=self.settings.consumer_max_attempts,
                topic_prefix=prefix,
            )
            self.tasks.append(asyncio.create_task(self.runner.run(), name=f"{self.name}-consumer"))
        self.tasks.append(asyncio.create_task(self._watch_broker(), name=f"{self.name}-broker"))
        self.tasks.append(asyncio.create_task(self._prune(), name=f"{self.name}-prune"))
        for job in self.jobs:
            loop = run_forever(self.database, job)
            self.tasks.append(asyncio.create_task(loop, name=f"{self.name}-{job.name}"))
        for task in self.tasks:
            task.add_done_callback(_log_crash)
        self.started = True

    async def _watch_broker(self) -> None:
        """Notice a broker that started over: re-send what it lost, re-read it from the start.

        Committed offsets die with such a broker; the consumer rewinds so that events published
        again below its old position are not skipped (the inbox makes the repeats harmless).
        """
        while True:
            await asyncio.sleep(self.settings.broker_check_seconds)
            try:
                await self._follow(await self.cluster_id.read())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker may be down for a while: keep watching
                log.info("broker check failed (%r); checking again later", error)

    async def _follow(self, broker_id: str) -> None:
        if broker_id == self.relay.broker_id:
            return
        log.warning("the broker started over (cluster id %s)", broker_id)
        if self.runner is not None:
            self.consumer.seek_to_beginning()
        await self.relay.follow_broker(broker_id)

    async def _prune(self) -> None:
        while True:
            try:
                pruned = await self.relay.prune()
                if pruned:
                    log.info("pruned %d outbox rows past the retention window", pruned)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pruning failed; trying again later")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.runner is not None:
            await self.consumer.stop()
        if self.started:
            await self.producer.stop()
            await self.cluster_id.close()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s died", task.get_name(), exc_info=task.exception())
