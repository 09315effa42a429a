"""Fixtures shared by every test: a throwaway database of the kind under test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.testing import free_port, throwaway_database
from kitchen.broker import run_prepare, start_broker, stop_process


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
