"""Retraction (撤稿): the takedown reaches every outlet that carried the item, with evidence.

The caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import ContentRetractionRequested, utcnow
from services.distribute import audit, reprints
from services.distribute.channels.contract import PLATFORMS
from services.distribute.channels.release import channel_delivery
from services.distribute.models import (
    ChannelPost,
    ContentSnapshot,
    Delivery,
    DeliveryAttempt,
    Release,
    Retraction,
    WebhookEndpoint,
)
from services.distribute.pagetags import iso
from services.distribute.portal import portal_target, retract_from_portal
from services.distribute.publishing import announce, new_delivery, settle_release
from services.distribute.webhooks import webhook_payload

WAITING = "waits for the outcome of the publication's attempt in flight"
NEVER_RECEIVED = "not needed: the receiver never accepted the publication"


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
    recorded += await _notify_channels(session, request, now)
    await session.execute(
        update(Release)
        .where(col(Release.content_id) == request.content_id, col(Release.state) != "failed")
        .values(state="retracted", detail=request.reason[:500])
    )
    await session.flush()
    await reprints.on_retraction(session, request.content_id, request.reason)  # 转载 follow
    # who asked is the editor named in the request (ingest's chain has the request itself)
    data = {"reason": request.reason, "deliveries": recorded}
    actor, subject = request.requested_by, request.content_id
    await audit.record(session, actor, "retraction.applied", subject, data)
    return recorded


async def _remember(
    session: AsyncSession, request: ContentRetractionRequested, now: datetime
) -> None:
    """Versions known now must never be published later (an approval may still be in flight)."""
    known = select(func.max(col(ContentSnapshot.version))).where(
        col(ContentSnapshot.content_id) == request.content_id
    )
    latest = max((await session.exec(known)).one_or_none() or 0, 1)
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
    """Publications stop; each receiver that got (or may have got) one is told, in order.

    Never sent: cancelled, nothing to tell. Waiting for a retry: cancelled, and told if an
    earlier attempt may have reached it. In flight (`sending`): the takedown `waiting` for that
    attempt's outcome, so it cannot overtake the publication (`settle_takedowns`). Delivered:
    told. Failed: told only if some attempt may have reached it.
    """
    query = select(Delivery).where(
        col(Delivery.content_id) == request.content_id,
        col(Delivery.channel) == "webhook",
        col(Delivery.action) == "publish",
    )
    recorded = 0
    for publication in list(await session.exec(query.with_for_update())):
        if publication.state == "sending":
            recorded += await _tell_endpoint(session, publication, request, now, "waiting")
            continue
        if publication.state == "pending":
            reason = (
                "retracted before retry" if publication.attempts else "retracted before sending"
            )
            publication.state, publication.last_error = "cancelled", reason
            publication.updated_at, publication.next_attempt_at = now, None
            session.add(publication)
            await announce(session, publication)
        if publication.attempts == 0:
            continue  # never sent
        state = "pending" if await may_have_received(session, publication) else "not_needed"
        recorded += await _tell_endpoint(session, publication, request, now, state)
    return recorded


async def may_have_received(session: AsyncSession, publication: Delivery) -> bool:
    """Whether the receiver may hold the publication: an attempt was accepted (2xx), got no
    answer (network error, timeout), or was lost with its process (no log row). An attempt the
    receiver answered with a refusal (4xx, 5xx) did not deliver it (Standard Webhooks)."""
    if publication.state == "delivered":
        return True
    if publication.channel in PLATFORMS:  # a post never confirmed live was read back absent
        return False
    query = select(col(DeliveryAttempt.outcome), col(DeliveryAttempt.status_code)).where(
        col(DeliveryAttempt.delivery_id) == publication.id
    )
    logged = (await session.execute(query)).all()
    if len(logged) < publication.attempts:
        return True
    return any(row.outcome == "delivered" or row.status_code is None for row in logged)


async def _notify_channels(
    session: AsyncSession, request: ContentRetractionRequested, now: datetime
) -> int:
    """New-media posts stop; each live one is taken down (WeChat `freepublish/delete`, Weibo
    `statuses/destroy`) by the channel job, with the platform's answer as evidence.

    Delivered: a `pending` takedown. In flight or in doubt (sending, confirming, unknown, or
    waiting with a final step attempted): a takedown `waiting` for its outcome, so it is taken
    down if it turns out live and is `not_needed` otherwise. Not yet sent: cancelled.
    """
    query = select(Delivery).where(
        col(Delivery.content_id) == request.content_id,
        col(Delivery.channel).in_(PLATFORMS),
        col(Delivery.action) == "publish",
    )
    publications = list(await session.exec(query.with_for_update()))
    return await _take_down_posts(session, publications, now, "retracted before sending")


async def supersede_posts(session: AsyncSession, snapshot: ContentSnapshot, now: datetime) -> int:
    """A newer approved version (a correction) replaces the item on new media: every post of
    an older version is taken down as a retraction would (a post in doubt waits for its
    outcome, an unsent one is cancelled and its release settled), so no account keeps the
    uncorrected text beside the corrected one; returns how many takedowns were recorded."""
    query = select(Delivery).where(
        col(Delivery.content_id) == snapshot.content_id,
        col(Delivery.version) < snapshot.version,
        col(Delivery.channel).in_(PLATFORMS),
        col(Delivery.action) == "publish",
    )
    publications = list(await session.exec(query.with_for_update()))
    reason = f"superseded by version {snapshot.version} before sending"
    recorded = await _take_down_posts(session, publications, now, reason)
    await session.flush()
    for content_id, version in sorted({(p.content_id, p.version) for p in publications}):
        await settle_release(session, content_id, version)
    return recorded


async def _take_down_posts(
    session: AsyncSession, publications: list[Delivery], now: datetime, cancel_reason: str
) -> int:
    """A takedown per post that is (or may be) live; a post never sent is cancelled."""
    recorded = 0
    for publication in publications:
        state = await _takedown_state(session, publication)
        if state == "cancel":
            publication.state, publication.last_error = "cancelled", cancel_reason
            publication.updated_at, publication.next_attempt_at = now, None
            session.add(publication)
            await announce(session, publication)
        elif state is not None:
            key = (publication.content_id, publication.version, publication.content_hash)
            takedown = channel_delivery(
                key,
                publication.target,
                publication.channel,
                state,
                now,
                account_id=publication.account_id,
                action="retract",
                error=WAITING if state == "waiting" else "",
            )
            recorded += await _record(session, takedown)
    return recorded


async def _takedown_state(session: AsyncSession, publication: Delivery) -> str | None:
    """`pending` / `waiting` (a takedown to record), `cancel` (the post never went), or None."""
    if publication.state == "delivered":
        return "pending"
    if publication.state in ("sending", "confirming", "unknown"):
        return "waiting"
    if publication.state in ("pending", "parked"):
        post = await session.get(ChannelPost, publication.id)
        in_doubt = post is not None and "attempting" in post.progress
        return "waiting" if in_doubt else "cancel"
    return None


async def waiting_takedowns(session: AsyncSession, publication: Delivery) -> list[Delivery]:
    """Takedowns to the publication's target that wait for its outcome (locked)."""
    query = select(Delivery).where(
        col(Delivery.content_id) == publication.content_id,
        col(Delivery.version) == publication.version,
        col(Delivery.target) == publication.target,
        col(Delivery.action) == "retract",
        col(Delivery.state) == "waiting",
    )
    return list(await session.exec(query.with_for_update()))


async def settle_takedowns(
    session: AsyncSession, publication: Delivery, takedowns: list[Delivery] | None = None
) -> None:
    """The publication to an endpoint is settled (delivered, failed, cancelled): a takedown that
    waited for it goes out now, or is `not_needed` if the receiver never accepted it."""
    if takedowns is None:
        takedowns = await waiting_takedowns(session, publication)
    if not takedowns:
        return
    await session.flush()  # the attempt just logged counts
    needed = await may_have_received(session, publication)
    now = utcnow()
    for takedown in takedowns:
        if needed:
            takedown.state, takedown.next_attempt_at, takedown.last_error = "pending", now, ""
        else:
            takedown.state, takedown.last_error = "not_needed", NEVER_RECEIVED
        takedown.updated_at = now
        session.add(takedown)
        await announce(session, takedown)


async def _tell_endpoint(
    session: AsyncSession,
    published: Delivery,
    request: ContentRetractionRequested,
    now: datetime,
    state: str,
) -> int:
    """Record the takedown for the publication's endpoint: `pending` (send it), `waiting` (for
    the publication's outcome) or `not_needed` (the receiver never accepted it)."""
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
    error = {"waiting": WAITING, "not_needed": NEVER_RECEIVED}.get(state, "")
    delivery = new_delivery(
        key,
        published.target,
        state,
        now,
        action="retract",
        endpoint=endpoint,
        payload=webhook_payload("content.retracted", data, now),
        error=error,
    )
    return await _record(session, delivery)


async def _record(session: AsyncSession, delivery: Delivery) -> int:
    """Add a retraction delivery unless this (version, target) was already retracted."""
    exists = select(col(Delivery.id)).where(
        col(Delivery.content_id) == delivery.content_id,
        col(Delivery.version) == delivery.version,
        col(Delivery.target) == delivery.target,
        col(Delivery.action) == delivery.action,
    )
    if (await session.execute(exists)).first() is not None:
        return 0
    session.add(delivery)
    await announce(session, delivery)
    return 1
