"""Fixtures shared by every test: a throwaway database of the kind under test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.bus import ensure_topics
from common.events import all_topics
from common.testing import free_port, throwaway_database
from kitchen.broker import run_prepare, start_broker, stop_process

# the platform sandboxes over HTTP
pytest_plugins = ["tests.fixtures.sandbox_wechat", "tests.fixtures.sandbox_weibo"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Unit tests and `any_database` tests run once, in the SQLite pass of `make test`."""
    for item in items:
        if "/tests/unit/" in str(item.fspath):
            item.add_marker(pytest.mark.any_database)


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (SQLite, or PostgreSQL when KITCHEN_TEST_DB=postgres)."""
    async with throwaway_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka-protocol broker (tansu) on a free port, with every hub topic created."""
    port = free_port()
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    process = start_broker(port, log)
    bootstrap = f"127.0.0.1:{port}"
    try:
        run_prepare(bootstrap)
        yield bootstrap
    finally:
        stop_process(process)


@pytest.fixture
async def kafka_prefix(kafka_bootstrap: str) -> str:
    """A topic prefix of this test's own, with every hub topic created under it.

    Tests share one broker; with their own topics no test reads another's events, whatever the
    order they run in (`KITCHEN_KAFKA_TOPIC_PREFIX` does the same for hubs sharing a cluster).
    """
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, [prefix + topic for topic in all_topics()])
    return prefix
