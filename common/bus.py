"""Kafka clients set up the way the hub needs them (acks=all, manual commits, short waits)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from common.settings import ServiceSettings

log = logging.getLogger(__name__)
DEFAULT_PARTITIONS = 3


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
    )


def new_consumer(settings: ServiceSettings, group_id: str, topics: list[str]) -> AIOKafkaConsumer:
    """A consumer of `topics` (logical names: the settings' topic prefix is added here)."""
    # fetch_max_wait_ms: the broker holds fetches until this timer; the default 500 ms adds
    # ~100 ms per hop (docs/ceilings.md). Below 5 ms the test broker misbehaves.
    return AIOKafkaConsumer(
        *(settings.kafka_topic_prefix + topic for topic in topics),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=max(5, settings.kafka_fetch_max_wait_ms),
        max_poll_records=200,
    )


async def ensure_topics(
    bootstrap: str, topics: list[str], partitions: int = DEFAULT_PARTITIONS
) -> None:
    """Create missing topics; already existing ones are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, partitions, 1) for t in missing], timeout_ms=10000
                )
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


class ClusterIdReader:
    """Reads the cluster id the broker reports — it changes when a broker starts over empty —
    over one kept admin connection, made again after any trouble. A worker asks every few
    seconds; a fresh client each time cost a connection and a full metadata round, which was
    most of an idle worker's CPU."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin: AIOKafkaAdminClient | None = None

    async def read(self) -> str:
        if self.admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            await admin.start()
            self.admin = admin
        try:
            return str((await self.admin.describe_cluster())["cluster_id"])
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        admin, self.admin = self.admin, None
        if admin is not None:
            await admin.close()


async def broker_cluster_id(bootstrap: str) -> str:
    """The cluster id the broker reports, asked once."""
    reader = ClusterIdReader(bootstrap)
    try:
        return await reader.read()
    finally:
        await reader.close()


async def wait_for_broker(bootstrap: str, within_seconds: float = 30.0) -> None:
    """Block until the broker answers metadata requests."""
    deadline = asyncio.get_running_loop().time() + within_seconds
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except KafkaError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.3)
        finally:
            await admin.close()
