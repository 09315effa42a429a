"""The deadline scheduler: a periodic job that fires T−2/T−1 warnings and breaches.

State lives in the database (the `case_alarm` rows), not in the process, so a restart picks up
exactly where the last run stopped: missed alarms fire late, fired ones never fire again.
"""

from __future__ import annotations

import asyncio
import logging

from common.db import Database
from common.worker import PeriodicJob
from services.interaction.calendar_store import CalendarCache
from services.interaction.cases.clocks import scan_deadlines
from services.interaction.clock import Clock
from services.interaction.context import Ctx
from services.interaction.settings import InteractionSettings

log = logging.getLogger(__name__)


async def run_once(
    database: Database, clock: Clock, settings: InteractionSettings, cache: CalendarCache
) -> int:
    """One scan in its own transaction; returns how many alarms fired."""
    async with database.sessions() as session:
        ctx = Ctx(session, await cache.get(session), clock, settings)
        fired = await scan_deadlines(ctx)
        await session.commit()
    return fired


def deadline_job(clock: Clock, settings: InteractionSettings, cache: CalendarCache) -> PeriodicJob:
    async def job(database: Database) -> None:
        while True:
            try:
                fired = await run_once(database, clock, settings, cache)
                if fired:
                    log.info("deadline scheduler fired %d alarms", fired)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline scan failed; next scan as scheduled")
            await asyncio.sleep(settings.scheduler_interval_seconds)

    return job
