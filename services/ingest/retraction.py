"""Retraction (撤稿) as a staff act: the library stops showing the item and asks distribution to
take it down from every outlet. No HTTP or Kafka; the caller commits.

In one transaction: the item becomes `retracted` (with its history row), every version so far is
covered (`retracted_version`: late events about them change nothing), its public search row goes,
`content.retraction_requested` is written to the outbox and the act is appended to ingest's
audit chain. Its attachments answer 410 Gone to the public from then on (`attachments.readable`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict
from common.events import ContentRetractionRequested, utcnow
from common.identity import Actor
from services.ingest import audit
from services.ingest.library import item_in_scope
from services.ingest.models import OUTBOX, ContentItem, StatusChange
from services.ingest.search import index as search_index

RETRACTED = "retracted"


def ensure_retractable(item: ContentItem) -> None:
    """A 409 naming the item's state unless a version was approved or published after the last
    retraction (nothing went out yet, or it was retracted already)."""
    went_out = max(item.published_version or 0, item.approved_version or 0)
    covered = item.retracted_version or 0
    if went_out > covered:
        return
    if covered:
        raise Conflict(
            f"item {item.id} is already retracted (up to version {covered})", field="status"
        )
    raise Conflict(
        f"item {item.id} is {item.status}: only an approved or published item can be retracted",
        field="status",
    )


async def request_retraction(
    session: AsyncSession, content_id: str, reason: str, actor: Actor
) -> dict[str, Any]:
    """Retract the item (see the module docstring); the caller has the editor or admin role.

    404 for an unknown item, 403 outside the caller's sites, 409 when nothing approved or
    published is left to retract (a second request is a 409 too: the first one stands)."""
    item = await item_in_scope(session, content_id, actor)
    ensure_retractable(item)
    return await retract(session, item, reason, actor.id)


async def retract(
    session: AsyncSession, item: ContentItem, reason: str, actor_id: str
) -> dict[str, Any]:
    """Retract `item` (see the module docstring) on behalf of `actor_id`, whatever its state;
    the callers decide whether it may be (`ensure_retractable` for staff; a reprint follows its
    original even while still in review, so it never goes out)."""
    now = utcnow()
    # every version known now: an approval or publication of any of them that is still in
    # flight must not bring the item back
    item.retracted_version = item.version
    item.status, item.status_reason, item.updated_at = RETRACTED, reason, now
    session.add(item)
    detail = f"retraction requested by {actor_id}: {reason}"
    session.add(
        StatusChange(
            content_id=item.id, version=item.version, status=RETRACTED, detail=detail, at=now
        )
    )
    await search_index.remove(session, item.id, search_index.PUBLIC)
    event = ContentRetractionRequested(content_id=item.id, reason=reason, requested_by=actor_id)
    await OUTBOX.add(session, event)
    record = {"reason": reason, "retracted_version": item.version}
    await audit.record(session, actor_id, "content.retraction_requested", item.id, record)
    return {
        "id": item.id,
        "status": RETRACTED,
        "retracted_version": item.version,
        "reason": reason,
        "requested_by": actor_id,
        "requested_at": now,
    }
