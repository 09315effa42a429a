"""An item's per-platform renditions, rendered once per version and stored (`ChannelVariant`).

Review shows the stored rendition before sign-off; the release binds the stored variant's hash
to each post, and the job sends that stored body only while its hash still matches. So what
the reviewers saw is what is posted.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import insert_unless_present
from common.events import utcnow
from services.distribute.channels.contract import Rendered
from services.distribute.channels.wechat_render import render_wechat
from services.distribute.channels.weibo_render import render_weibo
from services.distribute.models import ChannelVariant, ContentSnapshot, Site
from services.distribute.pagetags import SiteInfo, article_url
from services.distribute.portal import plan_portal

Renderer = Callable[[ContentSnapshot, str], Rendered]
RENDERERS: dict[str, Renderer] = {"wechat": render_wechat, "weibo": render_weibo}


async def portal_url(session: AsyncSession, snapshot: ContentSnapshot) -> str:
    """The item's page on its site: under its first column that exists (else its first
    column: the release then fails on the portal, so the link is never posted)."""
    plan = await plan_portal(session, snapshot)
    column = plan.columns[0].slug if plan.columns else (snapshot.columns or ["_"])[0]
    site = plan.site or Site(slug=snapshot.site, name="", domain=snapshot.site, site_id_code="")
    info = SiteInfo(site.slug, site.name, site.domain, site.site_id_code)
    return article_url(info, column, snapshot.content_id)


async def variants_for(
    session: AsyncSession, snapshot: ContentSnapshot
) -> dict[str, ChannelVariant]:
    """The WeChat and Weibo renditions of `snapshot`, by platform: the stored ones, rendered and
    stored first when missing (or rendered from other text). A second writer racing this one
    keeps the first stored row. New renditions are returned outside the session."""
    stored = await _stored(session, snapshot)
    url: str | None = None
    for platform, render in RENDERERS.items():
        current = stored.get(platform)
        if current is not None and current.content_hash == snapshot.content_hash:
            continue
        url = url or await portal_url(session, snapshot)
        stored[platform] = await _store(session, snapshot, render(snapshot, url), current)
    return stored


async def _stored(session: AsyncSession, snapshot: ContentSnapshot) -> dict[str, ChannelVariant]:
    query = select(ChannelVariant).where(
        col(ChannelVariant.content_id) == snapshot.content_id,
        col(ChannelVariant.version) == snapshot.version,
    )
    return {v.platform: v for v in await session.exec(query)}


async def _store(
    session: AsyncSession,
    snapshot: ContentSnapshot,
    rendered: Rendered,
    current: ChannelVariant | None,
) -> ChannelVariant:
    variant = current or ChannelVariant(
        content_id=snapshot.content_id,
        version=snapshot.version,
        platform=rendered.platform,
        content_hash=snapshot.content_hash,
        variant_hash=rendered.variant_hash,
    )
    variant.content_hash = snapshot.content_hash
    variant.variant_hash = rendered.variant_hash
    variant.body = rendered.body
    variant.findings = [f.as_dict() for f in rendered.findings]
    variant.rendered_at = utcnow()
    if current is not None:  # re-rendered from other text: the stored row is updated
        session.add(variant)
        return variant
    # A new rendition: one INSERT, no savepoint and no ORM flush (every new version has two).
    if await insert_unless_present(session, variant):
        return variant
    # stored meanwhile by another transaction: that one stands
    key = (snapshot.content_id, snapshot.version, rendered.platform)
    found = await session.get(ChannelVariant, key, populate_existing=True)
    assert found is not None
    return found
