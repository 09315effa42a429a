"""Releases and deliveries: an approved version goes to every target exactly once.

Portal targets are delivered inside the caller's transaction; webhook targets are queued as
pending deliveries for the dispatcher, new-media accounts (WeChat, Weibo) as pending deliveries
with their `ChannelPost` for the channel job (`services.distribute.channels.delivery`).
Every state change writes `delivery.updated` to the outbox in the same transaction, and the
change that completes a release writes `content.published`.
The caller commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import insert_rows, table_of
from common.errors import Conflict, NotFound, ServiceUnavailable
from common.events import ContentPublished, DeliveryUpdated, ReviewDecided, utcnow
from common.identity import Actor
from services.distribute import audit, reprints, schedules
from services.distribute.channels import release as channel_release  # a module: import cycle
from services.distribute.channels.outcomes import OPEN_CHANNEL_STATES
from services.distribute.deliveries import visible_delivery
from services.distribute.fanout import plan_fanout
from services.distribute.library import VersionSource, load_snapshot
from services.distribute.models import (
    OUTBOX,
    Article,
    ContentSnapshot,
    Delivery,
    DeliveryAction,
    Release,
    Retraction,
    WebhookEndpoint,
)
from services.distribute.pagetags import iso
from services.distribute.portal import PortalPlan, portal_target, publish_to_portals
from services.distribute.webhooks import webhook_payload

OPEN_STATES = ("pending", "sending")
NOT_TARGETS = ("cancelled", "needs_edit")
# a release keeps delivering while any of its deliveries is in one of these; `needs_edit` (the
# rendition or the platform refused the content) is settled: the release fails with the reasons,
# and the editors fix the item in a new version
RELEASE_OPEN_STATES = frozenset(OPEN_STATES + OPEN_CHANNEL_STATES)
DELIVERY_COLUMNS = list(table_of(Delivery).columns)


def new_delivery_id() -> str:
    """Also the Standard Webhooks `webhook-id` of every attempt of the delivery."""
    return f"msg_{uuid.uuid4().hex}"


def webhook_target(endpoint_id: str) -> str:
    return f"webhook:{endpoint_id}"


def event_state(delivery: Delivery, state: str | None = None) -> str:
    """The state `delivery.updated` reports (`state` overrides the row's, e.g. `retrying`);
    retraction deliveries say so in the state name."""
    state = state or delivery.state
    if delivery.action == "publish":
        return state
    return {"delivered": "retracted", "pending": "retraction_pending"}.get(
        state, f"retraction_{state}"
    )


async def announce(
    session: AsyncSession,
    delivery: Delivery,
    *,
    state: str | None = None,
    detail: str | None = None,
) -> None:
    detail = delivery.last_error if detail is None else detail
    await OUTBOX.add(session, updated(delivery, detail, state))


def release_detail(delivery: Delivery) -> str:
    """The `delivery.updated` detail of a delivery the release just made."""
    if delivery.last_error:
        return delivery.last_error
    if delivery.channel in ("wechat", "weibo") and delivery.state == "pending":
        return "queued for the new-media account"
    return ""


def retry_detail(attempt: int, next_attempt_at: datetime, error: str) -> str:
    """`delivery.updated` detail of a failed attempt that will be retried."""
    return f"attempt {attempt} failed; next attempt at {iso(next_attempt_at)}: {error}"[:1000]


def new_delivery(
    snapshot_key: tuple[str, int, str],
    target: str,
    state: str,
    now: datetime,
    *,
    action: str = "publish",
    endpoint: WebhookEndpoint | None = None,
    payload: bytes | None = None,
    error: str = "",
) -> Delivery:
    content_id, version, content_hash = snapshot_key
    return Delivery(
        id=new_delivery_id(),
        content_id=content_id,
        version=version,
        content_hash=content_hash,
        action=action,
        target=target,
        channel="webhook" if endpoint else "portal",
        endpoint_id=endpoint.id if endpoint else None,
        state=state,
        attempts=1 if state == "delivered" else 0,
        last_error=error,
        payload=payload,
        next_attempt_at=now if state == "pending" else None,
        created_at=now,
        updated_at=now,
        delivered_at=now if state == "delivered" else None,
    )


async def endpoints_for(
    session: AsyncSession, event_type: str, snapshot: ContentSnapshot
) -> list[WebhookEndpoint]:
    """The active endpoints subscribed to `event_type` for this item: its site (or every site),
    one of its columns (or every column) and its kind (or every kind)."""
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.active).is_(True))
    endpoints = await session.exec(query.order_by(col(WebhookEndpoint.id)))
    return [e for e in endpoints if event_type in e.events and subscribed(e, snapshot)]


def subscribed(endpoint: WebhookEndpoint, snapshot: ContentSnapshot) -> bool:
    """Whether an app subscriber's filters (site, columns, kinds; empty = all) take the item."""
    return takes(endpoint, snapshot.site, snapshot.columns, snapshot.kind)


def takes(endpoint: WebhookEndpoint, site: str, columns: list[str], kind: str) -> bool:
    """`subscribed` for an item on `site` in `columns` (a fan-out site's page)."""
    return (
        endpoint.site in (None, site)
        and (not endpoint.columns or bool(set(endpoint.columns) & set(columns)))
        and (not endpoint.kinds or kind in endpoint.kinds)
    )


async def handle_decision(
    session: AsyncSession, decision: ReviewDecided, fetcher: VersionSource
) -> Release | None:
    """Deliver an approved version to every target; other decisions change nothing here.

    A second approval of the same version (a redelivered or repeated event) finds the release
    and does nothing: the release row is the idempotency key of the whole fan-out. When the
    version's text is not here yet (topics are not ordered relative to each other) and ingest
    cannot be asked, the release waits for `content.ingested` or the next `resume_waiting` pass.
    """
    if decision.decision != "approved":
        return None
    key = (decision.content_id, decision.version)
    if await session.get(Release, key) is not None:
        return None
    release = Release(
        content_id=decision.content_id,
        version=decision.version,
        content_hash=decision.content_hash,
        site="",
        state="awaiting_content",
        approved_at=utcnow(),
    )
    session.add(release)
    try:
        snapshot = await load_snapshot(session, fetcher, *key)
    except ServiceUnavailable as error:
        release.detail = error.detail[:500]
        await session.flush()
        return release
    await begin(session, release, snapshot)
    return release


async def resume_release(session: AsyncSession, snapshot: ContentSnapshot) -> bool:
    """Deliver a release that was waiting for this version's text; True if there was one."""
    query = select(Release).where(
        col(Release.content_id) == snapshot.content_id,
        col(Release.version) == snapshot.version,
        col(Release.state) == "awaiting_content",
    )
    release = (await session.exec(query.with_for_update())).one_or_none()
    if release is None:
        return False
    await begin(session, release, snapshot)
    return True


async def begin(session: AsyncSession, release: Release, snapshot: ContentSnapshot | None) -> None:
    """Deliver now, or — when the item's schedule or embargo is not due — hold the release
    `scheduled` for `start_due`."""
    if snapshot is not None:
        release.site = snapshot.site
        if await schedules.hold(session, release, utcnow()):
            return
    await proceed(session, release, snapshot)


async def start_due(session: AsyncSession, fetcher: VersionSource, limit: int) -> int:
    """Deliver the scheduled releases whose moment has come; each is claimed by one worker
    only (`schedules.claim_due`). How many were started."""
    claimed = await schedules.claim_due(session, utcnow(), limit)
    for release in claimed:
        snapshot = await load_snapshot(session, fetcher, release.content_id, release.version)
        await proceed(session, release, snapshot)
    return len(claimed)


async def waiting_releases(session: AsyncSession, limit: int = 50) -> list[Release]:
    query = select(Release).where(col(Release.state) == "awaiting_content").limit(limit)
    return list(await session.exec(query.with_for_update(skip_locked=True)))


async def proceed(
    session: AsyncSession, release: Release, snapshot: ContentSnapshot | None
) -> None:
    """Check the approved hash against the text, then deliver everywhere or fail everywhere."""
    now = utcnow()
    release.state, release.detail = "delivering", ""
    release.site = snapshot.site if snapshot else ""
    refusal = await refusal_reason(session, release, snapshot)
    if refusal is not None or snapshot is None:
        await _fail_everywhere(session, release, snapshot, refusal or "unknown version", now)
        return
    await _deliver(session, release, snapshot, now)


async def refusal_reason(
    session: AsyncSession, release: Release, snapshot: ContentSnapshot | None
) -> str | None:
    """Why this approval must not be published, or None. What is published is what was approved:
    the library's text must carry exactly the approved hash."""
    if snapshot is None:
        return f"version {release.version} of {release.content_id} unknown to the library"
    if snapshot.content_hash != release.content_hash:
        return (
            f"content hash mismatch: approved {release.content_hash}, "
            f"library has {snapshot.content_hash}"
        )
    retraction = await session.get(Retraction, release.content_id)
    if retraction is not None and release.version <= retraction.up_to_version:
        return f"item was retracted: {retraction.reason}"
    expired = await schedules.expired_at(session, release.content_id, utcnow())
    if expired is not None:
        return f"item expired at {iso(expired)}"
    article = await session.get(Article, (snapshot.site, snapshot.content_id))
    if article is not None and article.version > snapshot.version:
        return f"superseded by version {article.version}"
    return None


async def _fail_everywhere(
    session: AsyncSession,
    release: Release,
    snapshot: ContentSnapshot | None,
    reason: str,
    now: datetime,
) -> None:
    release.state, release.detail = "failed", reason
    key = (release.content_id, release.version, release.content_hash)
    targets = []
    if snapshot is not None:  # every portal target, the fan-out's included
        plans = await plan_fanout(session, snapshot)
        targets = [portal_target(p.site_slug, c) for p in plans for c in p.asked]
        endpoints = await endpoints_for(session, "content.published", snapshot)
        targets += [webhook_target(e.id) for e in endpoints]
    failed = [new_delivery(key, t, "failed", now, error=reason) for t in targets or ["portal"]]
    if snapshot is not None:  # (version unknown: no site to name, the portal stands for all)
        failed += await channel_release.failed_everywhere(session, snapshot, key, reason, now)
    targets = [d.target for d in failed]
    await insert_deliveries(session, failed)
    await OUTBOX.add_many(session, [updated(d, d.last_error) for d in failed])
    session.add(release)
    await session.flush()
    await _record_outcome(session, release, sorted(targets), reason)


async def _deliver(
    session: AsyncSession, release: Release, snapshot: ContentSnapshot, now: datetime
) -> None:
    key = (snapshot.content_id, snapshot.version, snapshot.content_hash)
    # the item's own site first, then every site its fan-out selectors resolve to
    plans = await plan_fanout(session, snapshot)
    created = portal_deliveries(key, plans, now)
    articles = await publish_to_portals(session, snapshot, plans, now)
    if snapshot.site in articles:  # the page is public: the reprint clock starts (or stops)
        await reprints.on_page_published(session, release, now)
    for endpoint, article in await webhook_articles(session, snapshot, plans, articles):
        data = {"content_id": snapshot.content_id, **article}
        payload = webhook_payload("content.published", data, now)
        target = webhook_target(endpoint.id)
        delivery = new_delivery(key, target, "pending", now, endpoint=endpoint, payload=payload)
        created.append(delivery)
    channels = await channel_release.release_to_channels(
        session, snapshot, key, now, page_published=snapshot.site in articles
    )
    created += channels.deliveries
    # thousands of targets: the rows and their `delivery.updated` go in bulk statements
    await insert_deliveries(session, created)
    await OUTBOX.add_many(session, [updated(d, release_detail(d)) for d in created])
    with session.no_autoflush:
        session.add_all(channels.posts)
        # the release row was inserted by this transaction: nobody else can hold it
        await _settle(session, release, created)
    await session.flush()
    if snapshot.version > 1:  # a correction: older versions' posts come down
        # imported here: retraction builds on this module
        from services.distribute.retraction import supersede_posts

        await supersede_posts(session, snapshot, now)


def portal_deliveries(
    key: tuple[str, int, str], plans: list[PortalPlan], now: datetime
) -> list[Delivery]:
    """One delivery per (site, column) target: `failed` naming a column the site lacks (or a
    site that does not exist), `delivered` for the others (written in the same transaction)."""
    created: list[Delivery] = []
    for plan in plans:
        for column in plan.missing:
            reason = (
                f"no column {column!r} on site {plan.site_slug!r}"
                if plan.site is not None
                else f"no site {plan.site_slug!r}"
            )
            target = portal_target(plan.site_slug, column)
            created.append(new_delivery(key, target, "failed", now, error=reason))
        for target in (portal_target(plan.site_slug, c.slug) for c in plan.columns):
            created.append(new_delivery(key, target, "delivered", now))
    return created


async def webhook_articles(
    session: AsyncSession,
    snapshot: ContentSnapshot,
    plans: list[PortalPlan],
    articles: dict[str, dict[str, Any]],
) -> list[tuple[WebhookEndpoint, dict[str, Any]]]:
    """Each app subscriber that takes the item, with the page it hears of: the one on its own
    site (an endpoint of one site subscribes to that site's columns), else the item's own
    site's page. One delivery per endpoint, however many sites the item reached."""
    if not articles:
        return []
    columns = {p.site_slug: [c.slug for c in p.columns] for p in plans}
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.active).is_(True))
    found = []
    for endpoint in await session.exec(query.order_by(col(WebhookEndpoint.id))):
        if "content.published" not in endpoint.events:
            continue
        site = endpoint.site or snapshot.site
        if site not in articles:
            continue
        # on its own site the item's named columns count (as without fan-out)
        named = snapshot.columns if site == snapshot.site else columns[site]
        if takes(endpoint, site, named, snapshot.kind):
            found.append((endpoint, articles[site]))
    return found


async def insert_deliveries(session: AsyncSession, deliveries: list[Delivery]) -> None:
    """The new deliveries in a few executemany statements (their objects stay outside the
    session: nothing else in this transaction changes them)."""
    rows = [{c.name: getattr(d, c.name) for c in DELIVERY_COLUMNS} for d in deliveries]
    await insert_rows(session, table_of(Delivery), rows)


def updated(delivery: Delivery, detail: str, state: str | None = None) -> DeliveryUpdated:
    """The `delivery.updated` of a delivery (`state` overrides the row's, as in `announce`)."""
    return DeliveryUpdated(
        content_id=delivery.content_id,
        version=delivery.version,
        content_hash=delivery.content_hash,
        target=delivery.target,
        state=event_state(delivery, state),
        detail=detail,
    )


async def settle_release(session: AsyncSession, content_id: str, version: int) -> None:
    """Decide, once, whether every target of the version is delivered.

    The release row is locked first (PostgreSQL), so two deliveries finishing at the same time
    cannot both miss — or both announce — the moment the last one lands.
    """
    query = select(Release).where(
        col(Release.content_id) == content_id, col(Release.version) == version
    )
    release = (await session.exec(query.with_for_update())).one_or_none()
    if release is None:
        return
    if release.state == "delivering" and await _still_open(session, content_id, version):
        # nothing to decide yet: a fan-out to thousands of subscribers settles each of them,
        # and reading every delivery at each would cost the square of their number
        return
    await _settle(session, release, await publish_deliveries(session, content_id, version))
    await session.flush()


async def _still_open(session: AsyncSession, content_id: str, version: int) -> bool:
    """Whether a publish delivery of the version is still on its way."""
    query = select(Delivery.id).where(
        col(Delivery.content_id) == content_id,
        col(Delivery.version) == version,
        col(Delivery.action) == "publish",
        col(Delivery.state).in_(RELEASE_OPEN_STATES),
    )
    return (await session.exec(query.limit(1))).first() is not None


async def _settle(session: AsyncSession, release: Release, deliveries: list[Delivery]) -> None:
    """Move the (locked) release on from the states of its publish deliveries."""
    if release.state not in ("delivering", "failed"):
        return
    before = release.state
    # a cancelled delivery (its endpoint was deleted) is no longer a target; a post back with
    # the editors (`needs_edit`: a finding, the platform refused the content) is their work
    # item, not a failed publication — the item is published where it could go
    deliveries = [d for d in deliveries if d.state not in NOT_TARGETS]
    states = {d.state for d in deliveries}
    if any(s in RELEASE_OPEN_STATES for s in states):
        release.state = "delivering"
    elif deliveries and states == {"delivered"}:
        now = utcnow()
        release.state, release.published_at = "published", now
        await OUTBOX.add(
            session,
            ContentPublished(
                content_id=release.content_id,
                version=release.version,
                content_hash=release.content_hash,
                targets=sorted(d.target for d in deliveries),
                published_at=now,
            ),
        )
    else:
        release.state = "failed"
    failed = [d for d in deliveries if d.state != "delivered"]
    reasons = "; ".join(_reason(d) for d in failed)
    if release.state == "failed":
        release.detail = reasons[:500]
    session.add(release)
    if release.state != before and release.state in ("published", "failed"):
        await _record_outcome(session, release, sorted(d.target for d in deliveries), reasons)


def _reason(delivery: Delivery) -> str:
    """One target's part of a failed release's reason (a post back with the editors says so)."""
    if delivery.state == "failed":
        return f"{delivery.target}: {delivery.last_error}"
    return f"{delivery.target}: {delivery.state} {delivery.last_error}".strip()


async def _record_outcome(
    session: AsyncSession, release: Release, targets: list[str], reason: str
) -> None:
    """One chain entry per release that settled (published, or failed somewhere), written by
    the service itself; single deliveries are in the delivery log, not the chain."""
    data = {
        "version": release.version,
        "content_hash": release.content_hash,
        "site": release.site,
        "targets": targets,
    }
    if release.state == "failed":
        data["reason"] = reason[:500]
    action = f"release.{release.state}"
    await audit.record(session, audit.SYSTEM, action, release.content_id, data)


async def publish_deliveries(
    session: AsyncSession, content_id: str, version: int
) -> list[Delivery]:
    query = select(Delivery).where(
        col(Delivery.content_id) == content_id,
        col(Delivery.version) == version,
        col(Delivery.action) == "publish",
    )
    return list(await session.exec(query.order_by(col(Delivery.target))))


async def replay_delivery(session: AsyncSession, delivery_id: str, actor: Actor) -> Delivery:
    """Send a webhook delivery again, with the same `webhook-id` (receivers that already have it
    drop the repeat), whatever its settled state. Portal deliveries are transactional and have
    nothing to replay."""
    return await _send_again(session, delivery_id, actor, "replay")


async def retry_delivery(session: AsyncSession, delivery_id: str, actor: Actor) -> Delivery:
    """An operator's retry of a failed (dead-lettered) webhook delivery: a new attempt with the
    same `webhook-id` and a fresh retry budget; who asked is audited."""
    return await _send_again(session, delivery_id, actor, "retry")


async def _send_again(
    session: AsyncSession, delivery_id: str, actor: Actor, action: str
) -> Delivery:
    await visible_delivery(session, delivery_id, actor.sites)  # 404 outside their sites
    query = select(Delivery).where(col(Delivery.id) == delivery_id).with_for_update()
    delivery = (await session.exec(query)).one_or_none()
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}", field="id")
    if delivery.channel != "webhook":
        raise Conflict("portal deliveries are applied in one transaction; nothing to send again")
    if delivery.state in OPEN_STATES:
        raise Conflict(f"delivery is {delivery.state}; it will be attempted anyway")
    if delivery.state == "waiting":
        raise Conflict("the takedown waits for the publication's outcome; it is sent after it")
    if action == "retry" and delivery.state != "failed":
        raise Conflict(f"only failed deliveries are retried; this one is {delivery.state}")
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise Conflict("the webhook endpoint was deleted", field="endpoint_id")
    retraction = await session.get(Retraction, delivery.content_id)
    if delivery.action == "publish" and retraction and delivery.version <= retraction.up_to_version:
        raise Conflict("the item was retracted; its publication is not sent again")
    now = utcnow()
    from_state = delivery.state
    session.add(
        DeliveryAction(
            delivery_id=delivery.id,
            action=action,
            actor_id=actor.id,
            actor_name=actor.name,
            from_state=delivery.state,
            at=now,
        )
    )
    # attempt numbers keep counting; the retry budget starts again from here
    delivery.state, delivery.retry_base, delivery.last_error = "pending", delivery.attempts, ""
    delivery.next_attempt_at, delivery.updated_at = now, now
    session.add(delivery)
    await announce(session, delivery, detail=f"{action} requested by {actor.id}")
    await session.flush()
    if delivery.action == "publish":
        await settle_release(session, delivery.content_id, delivery.version)
    record = {
        "content_id": delivery.content_id,
        "version": delivery.version,
        "action": delivery.action,
        "target": delivery.target,
        "from_state": from_state,
    }
    await audit.record(session, actor.id, f"delivery.{action}", delivery.id, record)
    return delivery
