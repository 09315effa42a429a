"""The doorbell rings on commit, not on rollback, and waiting ends at the bell or the timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from common.db import Database
from services.distribute.doorbell import Doorbell


async def test_rings_after_commit_only(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'bell.db'}")
    bell = Doorbell()
    try:
        async with database.sessions() as session:
            bell.ring_after_commit(session)
            await session.execute(text("SELECT 1"))
            await session.rollback()
        started = time.perf_counter()
        await bell.wait(0.05)
        assert time.perf_counter() - started >= 0.04  # nothing rang

        async with database.sessions() as session:
            bell.ring_after_commit(session)
            await session.execute(text("SELECT 1"))
            waiter = asyncio.create_task(bell.wait(5))
            await asyncio.sleep(0)
            await session.commit()
        started = time.perf_counter()
        await waiter
        assert time.perf_counter() - started < 1
    finally:
        await database.dispose()
