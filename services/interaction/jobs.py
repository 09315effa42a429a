"""The deadline scheduler: a periodic job that fires T−2/T−1 warnings and breaches.

State lives in the database (the `case_alarm` rows), not in the process, so a restart picks up
exactly where the last run stopped: missed alarms fire late, fired ones never fire again.
"""

from __future__ import annotations

import logging

from common.jobs import Job, JobRun
from services.interaction.cases.clocks import scan_deadlines
from services.interaction.context import Ctx
from services.interaction.deps import Deps

log = logging.getLogger(__name__)


def deadline_job(deps: Deps) -> Job:
    """One pass scans the running clocks and fires what is due; returns how many alarms fired."""

    async def scan(run: JobRun) -> int:
        ctx = Ctx(run.session, await deps.calendar.get(run.session), deps.clock, deps.settings)
        fired = await scan_deadlines(ctx)
        if fired:
            log.info("deadline scheduler fired %d alarms", fired)
        return fired

    return Job("deadlines", scan, deps.settings.scheduler_interval_seconds)


def jobs(deps: Deps) -> list[Job]:
    return [deadline_job(deps)]
