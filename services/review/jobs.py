"""The review worker's periodic jobs: deadline reminders and the queued broken-link checks."""

from __future__ import annotations

from common.events import utcnow
from common.jobs import Job, JobRun
from services.review import linkcheck
from services.review.deps import Deps
from services.review.queue import send_reminders


def jobs(deps: Deps) -> list[Job]:
    settings = deps.settings

    async def reminders(run: JobRun) -> int:
        """Announce every stage that passed its deadline (once per stage)."""
        return await send_reminders(run.session, utcnow())

    async def link_checks(run: JobRun) -> int:
        """One batch of queued link checks; a full batch means more may be waiting."""
        return await linkcheck.run_pending(
            run,
            deps.checks.broken_links,
            settings.link_job_batch,
            settings.link_job_max_attempts,
        )

    return [
        Job("reminders", reminders, settings.reminder_interval_seconds),
        Job(
            "link-checks",
            link_checks,
            settings.link_job_interval_seconds,
            batch=settings.link_job_batch,
        ),
    ]
