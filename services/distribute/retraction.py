"""Retraction (撤稿): the takedown reaches every outlet that carried the item, with evidence.

The caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import ContentRetractionRequested, utcnow
from services.distribute.models import (
    ContentSnapshot,
    Delivery,
    Release,
    Retraction,
    WebhookEndpoint,
)
from services.distribute.pagetags import iso
from services.distribute.portal import portal_target, retract_from_portal
from services.distribute.publishing import announce, new_delivery
from services.distribute.webhooks import webhook_payload


async def handle_retraction(session: AsyncSession, request: ContentRetractionRequested) -> int:
    """Retract the item everywhere; returns how many retraction deliveries were recorded."""
    now = utcnow()
    await _remember(session, request, now)
    recorded = 0
    for article, columns in await retract_from_portal(
        session, request.content_id, request.reason, now
    ):
        key = (article.content_id, article.version, article.content_hash)
        for column in columns:
            target = portal_target(article.site, column)
            recorded += await _record(
                session, new_delivery(key, target, "delivered", now, action="retract")
            )
    recorded += await _notify_webhooks(session, request, now)
    await session.execute(
        update(Release)
        .where(Release.content_id == request.content_id, Release.state != "failed")
        .values(state="retracted", detail=request.reason[:500])
    )
    await session.flush()
    return recorded


async def _remember(
    session: AsyncSession, request: ContentRetractionRequested, now: datetime
) -> None:
    """Versions known now must never be published later (an approval may still be in flight)."""
    known = select(func.max(ContentSnapshot.version)).where(
        ContentSnapshot.content_id == request.content_id
    )
    latest = max((await session.execute(known)).scalar_one_or_none() or 0, 1)
    retraction = await session.get(Retraction, request.content_id)
    if retraction is None:
        retraction = Retraction(content_id=request.content_id, up_to_version=latest, at=now)
    retraction.up_to_version = max(retraction.up_to_version, latest)
    retraction.reason, retraction.requested_by, retraction.at = (
        request.reason,
        request.requested_by,
        now,
    )
    session.add(retraction)


async def _notify_webhooks(
    session: AsyncSession, request: ContentRetractionRequested, now: datetime
) -> int:
    """Unsent publications are cancelled; receivers that got (or may have got) one are told."""
    query = select(Delivery).where(
        Delivery.content_id == request.content_id,
        Delivery.channel == "webhook",
        Delivery.action == "publish",
    )
    recorded = 0
    for delivery in list((await session.execute(query.with_for_update())).scalars()):
        if delivery.state == "pending":
            delivery.state, delivery.last_error = "cancelled", "retracted before sending"
            delivery.updated_at, delivery.next_attempt_at = now, None
            session.add(delivery)
            await announce(session, delivery)
        elif delivery.state in ("delivered", "sending"):
            recorded += await _tell_endpoint(session, delivery, request, now)
    return recorded


async def _tell_endpoint(
    session: AsyncSession, published: Delivery, request: ContentRetractionRequested, now: datetime
) -> int:
    endpoint = await session.get(WebhookEndpoint, published.endpoint_id)
    if endpoint is None or not endpoint.active or "content.retracted" not in endpoint.events:
        return 0
    data = {
        "content_id": published.content_id,
        "version": published.version,
        "content_hash": published.content_hash,
        "reason": request.reason,
        "requested_by": request.requested_by,
        "retracted_at": iso(now),
    }
    key = (published.content_id, published.version, published.content_hash)
    delivery = new_delivery(
        key,
        published.target,
        "pending",
        now,
        action="retract",
        endpoint=endpoint,
        payload=webhook_payload("content.retracted", data, now),
    )
    return await _record(session, delivery)


async def _record(session: AsyncSession, delivery: Delivery) -> int:
    """Add a retraction delivery unless this (version, target) was already retracted."""
    exists = select(Delivery.id).where(
        Delivery.content_id == delivery.content_id,
        Delivery.version == delivery.version,
        Delivery.target == delivery.target,
        Delivery.action == delivery.action,
    )
    if (await session.execute(exists)).first() is not None:
        return 0
    session.add(delivery)
    await announce(session, delivery)
    return 1
