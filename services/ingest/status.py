"""An item's status: following review's and distribute's events, and an editor's release of a
quarantined item to review. No HTTP or Kafka; the caller commits."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict
from common.events import utcnow
from common.identity import Actor
from services.ingest import audit
from services.ingest.library import get_version, item_in_scope
from services.ingest.models import ContentItem, StatusChange
from services.ingest.pipeline import announce, index_published

# How far one version has come. Events from review and distribute travel on different topics
# and may arrive in any order (after a broker starts over they come again, interleaved), so a
# version's status only moves forward: a late `review.started` never undoes `approved`.
STATUS_STAGE = {"ingested": 0, "in_review": 1, "approved": 2, "rejected": 2, "returned": 2}
PUBLISHED_STAGE = 3


def status_stage(status: str) -> int:
    return STATUS_STAGE.get(status, PUBLISHED_STAGE if status == "published" else 0)


async def record_status(
    session: AsyncSession, content_id: str, version: int, status: str, detail: str = ""
) -> None:
    """Apply a status learned from an event, unless it is about an older version or is one the
    version has already passed.

    `published` also points the public search row at that version — even an older one (its
    event arrived after a later edit): the portal shows it, so public search must find it.
    Nothing about a version a retraction covers (`retracted_version`) changes the item."""
    item = await session.get(ContentItem, content_id)
    if item is None or version <= (item.retracted_version or 0):
        return  # a retraction is final for the versions it covers
    if version == item.version and status_stage(status) < status_stage(item.status):
        if status == "approved":
            item.approved_version = version
            session.add(item)
        return
    if version < item.version:
        if status == "published" and version > (item.published_version or 0):
            item.published_version = version
            item.published_at = item.published_at or utcnow()
            session.add(item)
            session.add(
                StatusChange(
                    content_id=content_id, version=version, status=status, detail=detail,
                    at=utcnow(),
                )
            )  # fmt: skip
            await index_published(session, item, version)
        return
    now = utcnow()
    item.status = status
    item.status_reason = detail or None
    item.updated_at = now
    if status == "approved":
        item.approved_version = version
    if status == "published":
        item.published_version = version
        item.published_at = item.published_at or now
    session.add(item)
    session.add(
        StatusChange(content_id=content_id, version=version, status=status, detail=detail, at=now)
    )
    if status == "published":
        await index_published(session, item, version)


async def release(
    session: AsyncSession, content_id: str, editor: Actor, note: str
) -> dict[str, Any]:
    """An editor releases a quarantined item to review: it is announced now, not before."""
    item = await item_in_scope(session, content_id, editor)
    if item.status != "quarantined":
        raise Conflict(f"item is {item.status}, not quarantined", field="status")
    flagged = item.status_reason
    now = utcnow()
    item.status, item.status_reason, item.updated_at = "ingested", None, now
    session.add(item)
    detail = f"released by {editor.id}: {note}".strip()
    session.add(
        StatusChange(
            content_id=item.id, version=item.version, status="ingested", detail=detail, at=now
        )
    )
    await announce(session, item, await get_version(session, item.id, item.version))
    record = {"version": item.version, "note": note, "quarantined_for": flagged}
    await audit.record(session, editor.id, "quarantine.released", item.id, record)
    return {"id": item.id, "version": item.version, "status": item.status}
