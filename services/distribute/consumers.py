"""Event handlers: snapshots from the library (and their new-media renditions), approvals to
deliver, takedowns to spread."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from common.consumer import Handler
from common.events import (
    CloudEvent,
    ContentIngested,
    ContentRetractionRequested,
    ContentScheduleChanged,
    ReviewDecided,
)
from services.distribute import schedules
from services.distribute.channels.variants import variants_for
from services.distribute.deps import Deps
from services.distribute.library import store_snapshot
from services.distribute.publishing import handle_decision, resume_release
from services.distribute.reprints import on_reprint_ingested
from services.distribute.retraction import handle_retraction


def handlers(deps: Deps) -> dict[str, Handler]:
    """The handler table; `deps.fetcher` reads versions from ingest when an approval overtakes
    them, `deps.doorbell` is rung once a handler's transaction commits."""
    fetcher, doorbell = deps.fetcher, deps.doorbell

    async def on_content_ingested(session: AsyncSession, event: CloudEvent) -> None:
        data = ContentIngested.model_validate(event.data)
        await schedules.remember_ingested(session, data)  # before a waiting release resumes
        snapshot = await store_snapshot(session, data)
        await variants_for(session, snapshot)  # review previews them before sign-off
        await on_reprint_ingested(session, snapshot)  # a reprint joins its obligation
        if await resume_release(session, snapshot):
            doorbell.ring_after_commit(session)

    async def on_review_decided(session: AsyncSession, event: CloudEvent) -> None:
        await handle_decision(session, ReviewDecided.model_validate(event.data), fetcher)
        doorbell.ring_after_commit(session)

    async def on_retraction_requested(session: AsyncSession, event: CloudEvent) -> None:
        await handle_retraction(session, ContentRetractionRequested.model_validate(event.data))
        doorbell.ring_after_commit(session)

    async def on_schedule_changed(session: AsyncSession, event: CloudEvent) -> None:
        await schedules.remember_changed(session, ContentScheduleChanged.model_validate(event.data))

    return {
        ContentIngested.TOPIC: on_content_ingested,
        ContentScheduleChanged.TOPIC: on_schedule_changed,
        ReviewDecided.TOPIC: on_review_decided,
        ContentRetractionRequested.TOPIC: on_retraction_requested,
    }
