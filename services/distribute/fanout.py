"""Fan-out (多站点分发): the portal targets of an item over the site tree.

An item goes to its own `site` + `columns`; each of its fan-out selectors
(`common.events.FanoutSelector`) adds `columns` on one more site (`self`), on each direct child
of a site (`children`) or on every site under it (`descendants`, the site itself excluded),
following `Site.parent`. The result is one `PortalPlan` per site, the item's own site first: a
column a site lacks (or a site that does not exist) is in that plan's `missing`, so it becomes a
failed delivery naming it while every other target is delivered.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.errors import NotFound
from services.distribute.models import ContentSnapshot, Delivery, Release, Site, SiteColumn
from services.distribute.pagetags import SHANGHAI
from services.distribute.portal import PortalPlan, in_chunks


def selected_sites(children: dict[str, list[str]], selector: dict[str, Any]) -> list[str]:
    """The sites one selector names: its site, its direct children, or its whole subtree
    (breadth first, siblings by slug; a loop in the tree is walked once). A site the directory
    does not know (not a key of `children`) is named itself, whatever the scope, so its targets
    fail naming it instead of the selector silently reaching nothing."""
    root, scope = str(selector["site"]), selector.get("scope", "self")
    if scope == "self" or root not in children:
        return [root]
    if scope == "children":
        return sorted(children.get(root, []))
    found: list[str] = []
    seen = {root}
    level = [root]
    while level:
        below = [c for site in level for c in sorted(children.get(site, [])) if c not in seen]
        seen.update(below)
        found += below
        level = below
    return found


async def site_children(session: AsyncSession) -> dict[str, list[str]]:
    """The site tree as slug → child slugs, every site a key (a leaf has none); one query over
    the whole directory."""
    children: dict[str, list[str]] = {}
    for slug, parent in await session.exec(select(col(Site.slug), col(Site.parent))):
        children.setdefault(slug, [])
        if parent is not None:
            children.setdefault(str(parent), []).append(slug)
    return children


def wanted_columns(
    snapshot: ContentSnapshot, children: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Site → the columns asked of it, in first-named order, the item's own site first; a
    column asked twice of one site (by two selectors) is one target."""
    wanted: dict[str, list[str]] = {snapshot.site: list(dict.fromkeys(snapshot.columns))}
    for selector in snapshot.fanout:
        for site in selected_sites(children, selector):
            columns = wanted.setdefault(site, [])
            columns += [c for c in selector["columns"] if c not in columns]
    return wanted


async def plan_fanout(session: AsyncSession, snapshot: ContentSnapshot) -> list[PortalPlan]:
    """One portal plan per target site (own site first) with its existing and missing columns;
    three queries whatever the number of sites (the tree, the sites, their columns)."""
    children = await site_children(session) if snapshot.fanout else {}
    wanted = wanted_columns(snapshot, children)
    slugs = list(wanted)
    sites: dict[str, Site] = {}
    found: dict[tuple[str, str], SiteColumn] = {}
    asked = sorted({c for columns in wanted.values() for c in columns})
    for part in in_chunks(slugs):
        query = select(Site).where(col(Site.slug).in_(part))
        sites |= {s.slug: s for s in await session.exec(query)}
        column_query = select(SiteColumn).where(
            col(SiteColumn.site).in_(part), col(SiteColumn.slug).in_(asked)
        )
        found |= {(c.site, c.slug): c for c in await session.exec(column_query)}
    plans = []
    for slug, columns in wanted.items():
        site = sites.get(slug)
        present = [found[(slug, c)] for c in columns if site and (slug, c) in found]
        missing = [c for c in columns if not site or (slug, c) not in found]
        plans.append(PortalPlan(slug, site, present, missing))
    return plans


# --- how far a release got, outlet kind by outlet kind ------------------------------------

CHANNELS = ("portal", "webhook", "wechat", "weibo")


def _quantile(values: list[float], q: float) -> float | None:
    """The nearest-rank quantile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def iso_ms(moment: datetime) -> str:
    """`iso` to the millisecond: a fan-out's skew is often below a second."""
    return as_utc(moment).astimezone(SHANGHAI).isoformat(timespec="milliseconds")


def _spread(channel: str, rows: list[tuple[str, datetime | None]], approved: datetime) -> Any:
    states: dict[str, int] = defaultdict(int)
    for state, _ in rows:
        states[state] += 1
    moments = sorted(as_utc(at) for _, at in rows if at is not None)
    lags = [(at - approved).total_seconds() for at in moments]
    return {
        "channel": channel,
        "targets": len(rows),
        "states": dict(sorted(states.items())),
        "first_delivered_at": iso_ms(moments[0]) if moments else None,
        "last_delivered_at": iso_ms(moments[-1]) if moments else None,
        "skew_seconds": (moments[-1] - moments[0]).total_seconds() if moments else None,
        "p50_seconds": _quantile(lags, 0.5),
        "p99_seconds": _quantile(lags, 0.99),
    }


async def fanout_report(
    session: AsyncSession, content_id: str, version: int, sites: list[str] | None = None
) -> dict[str, Any]:
    """`FanoutPublic` of one release: its publish deliveries counted by state, first and last
    `delivered_at`, their skew and p50/p99 of `delivered_at - approved_at`, per outlet kind and
    over all. 404 when the version was never released, or released outside the caller's sites
    (`sites`, None = all). Reads only."""
    release = await session.get(Release, (content_id, version))
    if release is None or (sites is not None and release.site not in sites):
        raise NotFound(f"no release of version {version} of item {content_id}", field="version")
    query = select(col(Delivery.channel), col(Delivery.state), col(Delivery.delivered_at)).where(
        col(Delivery.content_id) == content_id,
        col(Delivery.version) == version,
        col(Delivery.action) == "publish",
    )
    grouped: dict[str, list[tuple[str, datetime | None]]] = {c: [] for c in CHANNELS}
    for channel, state, delivered_at in await session.exec(query):
        grouped.setdefault(channel, []).append((state, delivered_at))
    approved = as_utc(release.approved_at)
    every = [row for rows in grouped.values() for row in rows]
    return {
        "content_id": content_id,
        "version": version,
        "site": release.site,
        "state": release.state,
        "approved_at": iso_ms(approved),
        "total": _spread("all", every, approved),
        "channels": [_spread(c, rows, approved) for c, rows in grouped.items()],
    }
