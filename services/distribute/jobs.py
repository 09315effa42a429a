"""Distribute's background jobs; `common.jobs.run_forever` owns the loop and the commits.

- `webhooks`: lease the due webhook deliveries, commit the leases (`run.checkpoint()`), send
  them and commit each outcome as it lands; runs again at once while it finds work, else when
  `deps.doorbell` rings (a transaction here queued deliveries) or every `webhook_poll_seconds`.
- `channels`: lease the due new-media deliveries (one per account), commit the leases, post
  step by step to WeChat and Weibo (`services.distribute.channels.delivery`), each outcome
  committed as it lands; at the doorbell or every `channel_poll_seconds`, again at once while
  it finds work.
- `resume-waiting`: fetch from ingest the text of approvals that overtook `content.ingested`
  while ingest was unreachable, and deliver them.
- `rerender`: render published pages again after their site or columns changed (batches of
  `RERENDER_BATCH`; a full batch runs again at once).
- `schedules`: start the scheduled releases whose moment (定时发布 / embargo) has come, each by
  one worker only (`services.distribute.publishing.start_due`), every
  `schedule_poll_seconds`; a full batch runs again at once.
- `reprint-clock`: warn once before a reprint obligation is due and record each breach exactly
  once (`services.distribute.reprints.run_clock`), every `reprint_clock_seconds`.
"""

from __future__ import annotations

from common.jobs import Job, JobRun
from services.distribute.channels.delivery import ChannelDispatcher
from services.distribute.clients.webhooks import webhook_sender
from services.distribute.deps import Deps
from services.distribute.dispatch import WebhookDispatcher
from services.distribute.publishing import start_due
from services.distribute.reprints import ClockPolicy, run_clock
from services.distribute.upkeep import RERENDER_BATCH, rerender_stale, resume_waiting

SCHEDULE_BATCH = 50


def jobs(deps: Deps) -> list[Job]:
    settings, bell = deps.settings, deps.doorbell
    dispatchers: list[WebhookDispatcher] = []

    async def send_webhooks(run: JobRun) -> int:
        if not dispatchers:  # its HTTP client is made in the worker, on the first pass
            dispatchers.append(WebhookDispatcher(settings, webhook_sender(settings)))
        return await dispatchers[0].step(run)

    channels = ChannelDispatcher(settings, deps.channels, deps.box)

    async def resume(run: JobRun) -> int:
        return await resume_waiting(run.session, deps.fetcher)

    async def rerender(run: JobRun) -> int:
        return await rerender_stale(run.session, RERENDER_BATCH)

    async def start_scheduled(run: JobRun) -> int:
        return await start_due(run.session, deps.fetcher, SCHEDULE_BATCH)

    clock = ClockPolicy(settings.reprint_warn_hours, settings.reprint_warn_fraction)

    async def reprint_clock(run: JobRun) -> int:
        return await run_clock(run.session, clock)

    return [
        Job("webhooks", send_webhooks, settings.webhook_poll_seconds, batch=1, wake=bell),
        Job("channels", channels.step, settings.channel_poll_seconds, batch=1, wake=bell),
        Job("resume-waiting", resume, settings.upkeep_seconds),
        Job("rerender", rerender, settings.upkeep_seconds, batch=RERENDER_BATCH),
        Job("schedules", start_scheduled, settings.schedule_poll_seconds, batch=SCHEDULE_BATCH),
        Job("reprint-clock", reprint_clock, settings.reprint_clock_seconds),
    ]
