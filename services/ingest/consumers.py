"""Event handlers of the library: item status follows review and distribution."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from common.consumer import Handler
from common.events import (
    CloudEvent,
    ContentPublished,
    ContentSubmitted,
    ReprintRequested,
    ReprintRetractionRequested,
    ReviewDecided,
    ReviewStarted,
)
from services.ingest import pipeline, reprints
from services.ingest.deps import Deps
from services.ingest.prepare import Incoming
from services.ingest.settings import IngestSettings
from services.ingest.status import record_status


async def on_review_started(session: AsyncSession, event: CloudEvent) -> None:
    data = ReviewStarted.model_validate(event.data)
    await record_status(session, data.content_id, data.version, "in_review")


async def on_review_decided(session: AsyncSession, event: CloudEvent) -> None:
    data = ReviewDecided.model_validate(event.data)
    await record_status(session, data.content_id, data.version, data.decision, data.comment)


async def on_content_published(session: AsyncSession, event: CloudEvent) -> None:
    data = ContentPublished.model_validate(event.data)
    await record_status(session, data.content_id, data.version, "published")


def content_submitted_handler(settings: IngestSettings) -> Handler:
    """Another service (e.g. interaction's interview transcripts) hands a document in."""

    async def on_content_submitted(session: AsyncSession, event: CloudEvent) -> None:
        data = ContentSubmitted.model_validate(event.data)
        incoming = Incoming(
            title=data.title,
            kind=data.kind,
            site=data.site,
            columns=list(data.columns),
            publisher=data.publisher,
            channel="event",
            actor=data.author,
            body_html=data.body_html or None,
            body_text=data.body_text or None,
            source_name=data.source,
            external_id=data.submission_id,
            raw=event.to_bytes(),
            raw_media_type="application/cloudevents+json",
        )
        await pipeline.ingest(session, incoming, settings)

    return on_content_submitted


def reprint_requested_handler(settings: IngestSettings) -> Handler:
    """A reprint rule asks for a reprint on a lower site (one per obligation)."""

    async def on_reprint_requested(session: AsyncSession, event: CloudEvent) -> None:
        data = ReprintRequested.model_validate(event.data)
        await reprints.make_reprint(session, data, settings, event.to_bytes())

    return on_reprint_requested


async def on_reprint_retraction_requested(session: AsyncSession, event: CloudEvent) -> None:
    """The original of a reprint was retracted: the reprint is retracted too."""
    await reprints.retract_reprint(session, ReprintRetractionRequested.model_validate(event.data))


def handlers(deps: Deps) -> dict[str, Handler]:
    """The explicit handler table of the ingest worker."""
    return {
        ReviewStarted.TOPIC: on_review_started,
        ReviewDecided.TOPIC: on_review_decided,
        ContentPublished.TOPIC: on_content_published,
        ContentSubmitted.TOPIC: content_submitted_handler(deps.settings),
        ReprintRequested.TOPIC: reprint_requested_handler(deps.settings),
        ReprintRetractionRequested.TOPIC: on_reprint_retraction_requested,
    }
