"""Background jobs: the one place, with requests and consumer messages, where work is committed.

A service's `jobs.py` returns `Job`s; the worker runs each with `run_forever`, which owns the
loop, the session, the commit and the backoff. A job's `step` does one pass of domain work in
the session it is given and returns how much it did; it never commits. A pass that filled its
batch runs again at once (more is waiting), otherwise the next pass is `interval_seconds` away,
or sooner when the job's `wake` doorbell rings (a transaction in this process made it work).
A pass that fails is rolled back, logged, and tried again after a doubling wait.

Some passes must make a decision durable *before* they act outside the hub — lease a delivery,
then send it; mark a crawl started, then fetch. Those call `run.checkpoint()`: the single,
named way to commit in the middle of a pass, so every such step can be found by searching for it.
One-off work outside the loop (seeding at start, a CLI command) goes through `run_once`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from common.backoff import Backoff
from common.db import Database
from common.doorbell import Doorbell

__all__ = ["Job", "JobRun", "Step", "run_forever", "run_once", "run_pass"]

log = logging.getLogger(__name__)
T = TypeVar("T")
FAILURE_CEILING_SECONDS = 60.0


class JobRun:
    """One pass of a job: its session and the database it came from."""

    def __init__(self, database: Database, session: AsyncSession) -> None:
        self.database = database
        self.session = session

    async def checkpoint(self) -> None:
        """Commit what this pass has done so far (the lease-then-act step); the pass goes on in
        the same session."""
        await self.session.commit()


Step = Callable[[JobRun], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    """A periodic job: `step` is one pass, returning how many things it handled."""

    name: str
    step: Step
    interval_seconds: float
    batch: int | None = None  # a pass that handled this many runs again at once
    wake: Doorbell | None = None  # rung, the next pass starts without waiting out the interval

    def wants_more(self, handled: int) -> bool:
        return self.batch is not None and handled >= self.batch


async def run_once(database: Database, work: Callable[[JobRun], Awaitable[T]]) -> T:
    """Run `work` in one transaction and commit it; rolled back if it raises."""
    async with database.sessions() as session:
        try:
            result = await work(JobRun(database, session))
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    return result


async def run_pass(database: Database, job: Job) -> int:
    """One committed pass of `job` (what the loop does each time; tests call it directly)."""
    return await run_once(database, job.step)


async def run_forever(database: Database, job: Job) -> None:
    """Run `job` until cancelled; a failing pass never ends the loop."""
    backoff = Backoff(first=min(1.0, job.interval_seconds), ceiling=FAILURE_CEILING_SECONDS)
    while True:
        try:
            handled = await run_pass(database, job)
        except asyncio.CancelledError:
            raise
        except Exception:  # a transient database or network error must not end the job
            log.exception("job %s failed; trying again", job.name)
            await backoff.wait()
            continue
        backoff.reset()
        if handled:
            log.debug("job %s handled %d", job.name, handled)
        if job.wants_more(handled):
            await asyncio.sleep(0)
        elif job.wake is not None:
            await job.wake.wait(job.interval_seconds)
        else:
            await asyncio.sleep(job.interval_seconds)
