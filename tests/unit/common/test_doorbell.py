"""The doorbell rings on commit, not on rollback, and waiting ends at the bell or the timeout;
a job given one starts its next pass when it rings."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from common.db import Database
from common.doorbell import Doorbell
from common.jobs import Job, JobRun, run_forever


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


async def test_a_ring_with_nobody_waiting_is_kept_for_the_next_wait() -> None:
    bell = Doorbell()
    bell.ring()
    started = time.perf_counter()
    await bell.wait(5)
    assert time.perf_counter() - started < 1
    started = time.perf_counter()
    await bell.wait(0.05)  # taken by the wait before
    assert time.perf_counter() - started >= 0.04


def test_one_bell_serves_waiters_in_different_event_loops() -> None:
    """A service's outbox bell is made at import; each test (and process) has its own loop."""
    bell = Doorbell()

    async def rung_while_waiting() -> float:
        started = time.perf_counter()
        asyncio.get_running_loop().call_later(0.05, bell.ring)
        await bell.wait(5)
        return time.perf_counter() - started

    assert asyncio.run(rung_while_waiting()) < 1
    assert asyncio.run(rung_while_waiting()) < 1


async def test_a_job_with_a_wake_bell_runs_its_next_pass_when_rung(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'job.db'}")
    bell = Doorbell()
    passes: list[float] = []

    async def step(run: JobRun) -> int:
        passes.append(time.perf_counter())
        return 0

    loop = asyncio.create_task(run_forever(database, Job("woken", step, 60.0, wake=bell)))
    try:
        while not passes:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert len(passes) == 1  # the interval is a minute away
        bell.ring()
        for _ in range(100):
            if len(passes) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(passes) == 2
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await database.dispose()
