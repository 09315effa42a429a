"""The ingest worker's periodic jobs (`common.jobs`): crawling.

- `crawl-recovery`: runs a dead worker left `running` (no heartbeat for
  `crawl_stale_seconds`) become `interrupted`, and their source is queued again; the first pass,
  at worker start, recovers what a crashed worker left behind.
- `crawl-schedule`: queues a run for every enabled source whose interval has passed.
- `crawl`: runs the oldest queued run to its end; a pass that ran one looks again at once.
- `expiry`: retracts the items whose `expire_at` has passed (到期下线), `EXPIRY_BATCH` at a
  time; a full batch runs again at once.
"""

from __future__ import annotations

from common.jobs import Job, JobRun
from services.ingest.crawler.run import crawl_next, enqueue_due, recover_stale
from services.ingest.deps import Deps
from services.ingest.schedules import expire_due

EXPIRY_BATCH = 50


def jobs(deps: Deps) -> list[Job]:
    settings = deps.settings

    async def recover(run: JobRun) -> int:
        return len(await recover_stale(run.session, settings.crawl_stale_seconds))

    async def schedule(run: JobRun) -> int:
        return len(await enqueue_due(run.session))

    async def crawl(run: JobRun) -> int:
        return await crawl_next(run, settings)

    async def expire(run: JobRun) -> int:
        return len(await expire_due(run.session, EXPIRY_BATCH))

    every = settings.crawl_poll_seconds
    return [
        Job("crawl-recovery", recover, every),
        Job("crawl-schedule", schedule, every),
        Job("crawl", crawl, every, batch=1),
        Job("expiry", expire, settings.expiry_poll_seconds, batch=EXPIRY_BATCH),
    ]
