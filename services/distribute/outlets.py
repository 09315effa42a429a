"""Where an item went, outlet by outlet, with the evidence of its publication and takedown.

One row per target the item was delivered to — a portal column (its feeds are part of it), a
webhook receiver, a WeChat or Weibo account — holding the newest publication and the newest
takedown of that target: state, time, and the outlet's answer (the last attempt's status code,
error and recorded platform response; a portal takedown is transactional, so its state and time
are the evidence). Reads only; the caller commits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound
from services.distribute.models import (
    Article,
    ChannelAccount,
    ChannelPost,
    Delivery,
    DeliveryAttempt,
    Release,
    Retraction,
    Site,
    SiteColumn,
    WebhookEndpoint,
)
from services.distribute.pagetags import iso

FEED_FORMATS = ("rss", "atom", "json")
# what the outlet holds now, from the takedown's state (when there is one) …
TAKEDOWN_STATES = {
    "delivered": "removed",
    "not_needed": "never_received",
    "failed": "takedown_failed",
    "cancelled": "takedown_failed",
}
# … else from the publication's
PUBLICATION_STATES = {"delivered": "live", "failed": "not_published", "cancelled": "not_published"}


@dataclass
class Outlet:
    """The deliveries of one target, newest last."""

    target: str
    publications: list[Delivery] = field(default_factory=list)
    takedowns: list[Delivery] = field(default_factory=list)

    @property
    def publication(self) -> Delivery | None:
        return self.publications[-1] if self.publications else None

    @property
    def takedown(self) -> Delivery | None:
        return self.takedowns[-1] if self.takedowns else None

    @property
    def any(self) -> Delivery:
        found = self.publication or self.takedown
        assert found is not None
        return found

    def state(self) -> str:
        if self.takedown is not None:
            return TAKEDOWN_STATES.get(self.takedown.state, "removing")
        assert self.publication is not None
        return PUBLICATION_STATES.get(self.publication.state, "publishing")


async def outlets_of(
    session: AsyncSession, content_id: str, sites: list[str] | None = None
) -> dict[str, Any]:
    """`OutletsPublic` of an item; 404 when nothing of it was released, or only outside the
    caller's sites (`sites`, None = all)."""
    site = await _site_of(session, content_id, sites)
    query = (
        select(Delivery)
        .where(col(Delivery.content_id) == content_id)
        .order_by(col(Delivery.version), col(Delivery.created_at), col(Delivery.id))
    )
    grouped: dict[str, Outlet] = {}
    for delivery in await session.exec(query):
        outlet = grouped.setdefault(delivery.target, Outlet(delivery.target))
        kept = outlet.takedowns if delivery.action == "retract" else outlet.publications
        kept.append(delivery)
    rows = [await _row(session, outlet) for outlet in grouped.values()]
    retraction = await session.get(Retraction, content_id)
    return {
        "content_id": content_id,
        "site": site,
        "retraction": _retraction_out(retraction),
        "outlets": sorted(rows, key=lambda r: (CHANNEL_ORDER.get(r["channel"], 9), r["target"])),
    }


CHANNEL_ORDER = {"portal": 0, "wechat": 1, "weibo": 2, "webhook": 3}


async def _site_of(session: AsyncSession, content_id: str, sites: list[str] | None) -> str:
    query = select(Release).where(col(Release.content_id) == content_id)
    releases = list(await session.exec(query.order_by(col(Release.version))))
    visible = [r for r in releases if sites is None or r.site in sites]
    if not visible:
        raise NotFound(f"no deliveries of item {content_id}", field="content_id")
    return visible[-1].site


def _retraction_out(retraction: Retraction | None) -> dict[str, Any] | None:
    if retraction is None:
        return None
    return {
        "reason": retraction.reason,
        "requested_by": retraction.requested_by,
        "at": iso(retraction.at),
        "up_to_version": retraction.up_to_version,
    }


async def _row(session: AsyncSession, outlet: Outlet) -> dict[str, Any]:
    first = outlet.any
    post = await _post(session, outlet.publication)
    return {
        "target": outlet.target,
        "channel": first.channel,
        "name": await _name(session, first),
        "account_id": first.account_id,
        "endpoint_id": first.endpoint_id,
        "version": (outlet.takedown or first).version,
        "state": outlet.state(),
        "post_url": await _post_url(session, first, post),
        "platform_post_id": (post.platform_post_id or None) if post else None,
        "feeds": _feeds(first),
        "publication": await _evidence(session, outlet.publication),
        "takedown": await _evidence(session, outlet.takedown, post),
    }


def _portal_place(delivery: Delivery) -> tuple[str, str]:
    site, _, column = delivery.target.removeprefix("portal:").partition("/")
    return site, column


async def _name(session: AsyncSession, delivery: Delivery) -> str:
    """What staff call the outlet: 站点 · 栏目, the account's name, the receiver's name or host."""
    if delivery.channel == "portal":
        site_slug, column_slug = _portal_place(delivery)
        site = await session.get(Site, site_slug)
        query = select(SiteColumn).where(
            col(SiteColumn.site) == site_slug, col(SiteColumn.slug) == column_slug
        )
        column = (await session.exec(query)).one_or_none()
        return f"{site.name if site else site_slug} · {column.name if column else column_slug}"
    if delivery.account_id is not None:
        account = await session.get(ChannelAccount, delivery.account_id)
        return account.name if account else delivery.account_id
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id or "")
    if endpoint is None:
        return delivery.target
    return endpoint.description or urlsplit(endpoint.url).netloc


async def _post(session: AsyncSession, publication: Delivery | None) -> ChannelPost | None:
    if publication is None or publication.account_id is None:
        return None
    return await session.get(ChannelPost, publication.id)


async def _post_url(
    session: AsyncSession, delivery: Delivery, post: ChannelPost | None
) -> str | None:
    """Where the public sees it: the article page (portal) or the platform's post URL."""
    if post is not None:
        return post.post_url or None
    if delivery.channel != "portal":
        return None
    article = await session.get(Article, (_portal_place(delivery)[0], delivery.content_id))
    if article is None:
        return None
    url = orjson.loads(article.body).get("url")
    return str(url) if url else None


def _feeds(delivery: Delivery) -> list[str]:
    if delivery.channel != "portal":
        return []
    site, column = _portal_place(delivery)
    return [f"/feeds/{site}/{column}.{fmt}" for fmt in FEED_FORMATS]


async def _evidence(
    session: AsyncSession, delivery: Delivery | None, post: ChannelPost | None = None
) -> dict[str, Any] | None:
    """State, time and the outlet's last answer of one delivery."""
    if delivery is None:
        return None
    query = (
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id) == delivery.id)
        .order_by(col(DeliveryAttempt.id).desc())
        .limit(1)
    )
    attempt = (await session.exec(query)).one_or_none()
    response = attempt.response if attempt else ""
    if not response and post is not None and delivery.action == "retract":
        response = post.last_response  # the takedown's answer, kept with the post
    return {
        "delivery_id": delivery.id,
        "version": delivery.version,
        "state": delivery.state,
        "at": _when(delivery.delivered_at or delivery.updated_at),
        "attempts": delivery.attempts,
        "status_code": attempt.status_code if attempt else None,
        "error": (attempt.error if attempt else "") or delivery.last_error,
        "response": response,
    }


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None
