"""Reprints a reprint rule asks for (转载协同联动, `reprint.requested`) and their retraction when
the original is taken down (`reprint.retraction_requested`). No HTTP or Kafka; the caller
commits.

A reprint is made from the library's own copy of the original's published version — title,
body, kind, publisher, 文号 and attachments — aimed at the lower site's columns, with 来源 = the
source site's name and a link to the original, and goes through the one submission pipeline as
a reprint (`reprint_of` the original), so review applies the site's `reprint_stages`. One
obligation makes one reprint: the obligation id is kept as the item source's `external_id`
(channel `reprint`), and a redelivered request finds it and makes nothing. The event is keyed by
the original, so the requests for one original are handled one after the other.
"""

from __future__ import annotations

import logging

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import ReprintRequested, ReprintRetractionRequested
from services.ingest import pipeline
from services.ingest.models import ContentItem, ContentVersion, ItemSource
from services.ingest.prepare import Incoming
from services.ingest.retraction import retract
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)
CHANNEL = "reprint"


async def reprint_for(session: AsyncSession, obligation_id: str) -> str | None:
    """The reprint already made for an obligation, if any."""
    query = select(col(ItemSource.content_id)).where(
        col(ItemSource.channel) == CHANNEL, col(ItemSource.external_id) == obligation_id
    )
    return (await session.exec(query.limit(1))).first()


async def make_reprint(
    session: AsyncSession, request: ReprintRequested, settings: IngestSettings, raw: bytes
) -> ContentItem | None:
    """The reprint item on the lower site, or None when nothing is to be made: made before
    (the same obligation), the original unknown here, or retracted since the request."""
    if await reprint_for(session, request.obligation_id) is not None:
        return None
    original = await session.get(ContentItem, request.original_id)
    query = select(ContentVersion).where(
        col(ContentVersion.content_id) == request.original_id,
        col(ContentVersion.version) == request.original_version,
    )
    version = (await session.exec(query)).one_or_none()
    if original is None or version is None:
        log.warning("reprint %s: no version %s of %s", request.obligation_id,
                    request.original_version, request.original_id)  # fmt: skip
        return None
    if (original.retracted_version or 0) >= request.original_version:
        return None  # the original came down while the request was on its way
    incoming = Incoming(
        title=version.title,
        kind=version.kind,
        site=request.site,
        columns=list(request.columns),
        publisher=version.publisher,
        channel=CHANNEL,
        actor=request.requested_by,
        body_html=version.body_html,
        body_text=None if version.body_html else version.body_text,
        doc_number=version.doc_number,
        disclosure=original.disclosure,
        source_name=request.source_name,
        url=request.original_url,
        external_id=request.obligation_id,
        raw=raw,
        raw_media_type="application/cloudevents+json",
        is_reprint=True,
        reprint_of=request.original_id,
        attachments=list(version.attachments),
    )
    outcome = await pipeline.ingest(session, incoming, settings)
    return outcome.item


async def retract_reprint(
    session: AsyncSession, request: ReprintRetractionRequested
) -> ContentItem | None:
    """Retract the reprint because its original was retracted — also while it is still in
    review, so it never goes out; None when unknown here or retracted already."""
    item = await session.get(ContentItem, request.reprint_id)
    if item is None or (item.retracted_version or 0) >= item.version:
        return None
    reason = f"原稿已撤回：{request.reason}"
    await retract(session, item, reason, f"reprint:{request.obligation_id}")
    return item
