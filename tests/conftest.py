"""Fixtures shared by every test: a throwaway database of the kind under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from common.testing import throwaway_database


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (SQLite, or PostgreSQL when KITCHEN_TEST_DB=postgres)."""
    async with throwaway_database(tmp_path) as url:
        yield url
