"""Event handlers of the library: item status follows review and distribution."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from common.consumer import Handler
from common.events import CloudEvent, ContentPublished, ReviewDecided, ReviewStarted
from services.ingest.service import record_status


async def on_review_started(session: AsyncSession, event: CloudEvent) -> None:
    data = ReviewStarted.model_validate(event.data)
    await record_status(session, data.content_id, data.version, "in_review")


async def on_review_decided(session: AsyncSession, event: CloudEvent) -> None:
    data = ReviewDecided.model_validate(event.data)
    await record_status(session, data.content_id, data.version, data.decision, data.comment)


async def on_content_published(session: AsyncSession, event: CloudEvent) -> None:
    data = ContentPublished.model_validate(event.data)
    await record_status(session, data.content_id, data.version, "published")


HANDLERS: dict[str, Handler] = {
    ReviewStarted.TOPIC: on_review_started,
    ReviewDecided.TOPIC: on_review_decided,
    ContentPublished.TOPIC: on_content_published,
}
