"""Fan-out (多站点分发): the portal targets of an item over the site tree.

An item goes to its own `site` + `columns`; each of its fan-out selectors
(`common.events.FanoutSelector`) adds `columns` on one more site (`self`), on each direct child
of a site (`children`) or on every site under it (`descendants`, the site itself excluded),
following `Site.parent`. The result is one `PortalPlan` per site, the item's own site first: a
column a site lacks (or a site that does not exist) is in that plan's `missing`, so it becomes a
failed delivery naming it while every other target is delivered.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.distribute.models import ContentSnapshot, Site, SiteColumn
from services.distribute.portal import PortalPlan, in_chunks


def selected_sites(children: dict[str, list[str]], selector: dict[str, Any]) -> list[str]:
    """The sites one selector names: its site, its direct children, or its whole subtree
    (breadth first, siblings by slug; a loop in the tree is walked once)."""
    root, scope = str(selector["site"]), selector.get("scope", "self")
    if scope == "self":
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
    """The site tree as parent slug → child slugs (one query over the whole directory)."""
    query = select(col(Site.slug), col(Site.parent)).where(col(Site.parent).is_not(None))
    children: dict[str, list[str]] = defaultdict(list)
    for slug, parent in await session.exec(query):
        children[str(parent)].append(slug)
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
