"""Portal publication: render once, store the bytes public reads serve, log the change feed.

Runs inside the consumer's transaction, so the portal output, the delivery rows and the events
announcing them commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.db import insert_rows, table_of
from services.distribute.models import (
    Article,
    Change,
    ColumnEntry,
    ContentSnapshot,
    Site,
    SiteColumn,
)
from services.distribute.pagetags import iso, render_article, render_entry, shown_date
from services.distribute.sites import column_info, site_info


@dataclass
class PortalPlan:
    """Where a version goes on its site: the columns that exist and the ones that do not."""

    site_slug: str
    site: Site | None
    columns: list[SiteColumn]
    missing: list[str]

    @property
    def asked(self) -> list[str]:
        """Every column asked of the site, present or not."""
        return [c.slug for c in self.columns] + self.missing


# what a change-feed row is inserted with (`seq` is the database's)
CHANGE_COLUMNS = [c for c in table_of(Change).columns if c.name != "seq"]
CHANGE_FEED_LOCK = 8103  # any constant key; only this service takes advisory locks in its DB


def portal_target(site: str, column: str) -> str:
    return f"portal:{site}/{column}"


async def plan_portal(session: AsyncSession, snapshot: ContentSnapshot) -> PortalPlan:
    site = await session.get(Site, snapshot.site)
    if site is None:
        return PortalPlan(snapshot.site, None, [], list(snapshot.columns))
    query = select(SiteColumn).where(
        col(SiteColumn.site) == site.slug, col(SiteColumn.slug).in_(snapshot.columns)
    )
    found = {c.slug: c for c in (await session.exec(query))}
    columns = [found[slug] for slug in snapshot.columns if slug in found]
    missing = [slug for slug in snapshot.columns if slug not in found]
    return PortalPlan(site.slug, site, columns, missing)


def micros(moment: datetime) -> int:
    return int(as_utc(moment).timestamp() * 1_000_000)


async def publish_to_portal(
    session: AsyncSession, snapshot: ContentSnapshot, plan: PortalPlan, now: datetime
) -> dict[str, Any]:
    """Store the article and its column entries on one site; returns the article JSON
    (`publish_to_portals` for one plan)."""
    return (await publish_to_portals(session, snapshot, [plan], now))[plan.site_slug]


async def publish_to_portals(
    session: AsyncSession, snapshot: ContentSnapshot, plans: list[PortalPlan], now: datetime
) -> dict[str, dict[str, Any]]:
    """Store the article and its column entries on each planned site (plans without a site or
    without a column are skipped); returns site → the article JSON.

    A new version of an item already on a site keeps its first publish time and its place in
    the lists; columns it no longer targets lose it. The pages of every site are written with
    a few bulk statements (a fan-out reaches a thousand sites), not one unit of work per row.
    """
    plans = [p for p in plans if p.site is not None and p.columns]
    if not plans:
        return {}
    await serialise_change_feed(session)  # first, so every writer takes its locks in one order
    content_id = snapshot.content_id
    existing: dict[str, Article] = {}
    listed_before: dict[str, list[str]] = {}
    for part in in_chunks([p.site_slug for p in plans]):
        query = select(Article).where(
            col(Article.content_id) == content_id, col(Article.site).in_(part)
        )
        existing |= {a.site: a for a in await session.exec(query)}
        listed = select(col(ColumnEntry.site), col(ColumnEntry.column)).where(
            col(ColumnEntry.content_id) == content_id, col(ColumnEntry.site).in_(part)
        )
        for site_slug, column in await session.exec(listed):
            listed_before.setdefault(site_slug, []).append(column)
        await session.execute(
            delete(ColumnEntry).where(
                col(ColumnEntry.content_id) == content_id, col(ColumnEntry.site).in_(part)
            )
        )
    articles: dict[str, dict[str, Any]] = {}
    new_articles: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for plan in plans:
        assert plan.site is not None
        site = site_info(plan.site)
        before = existing.get(site.slug)
        first_published = now if before is None or before.retracted_at else before.published_at
        columns = [column_info(c) for c in plan.columns]
        article = render_article(site, columns, snapshot, first_published)
        article["updated_at"] = iso(now)
        articles[site.slug] = article
        body = orjson.dumps(article)
        if before is None:
            new_articles.append(
                {
                    "site": site.slug,
                    "content_id": content_id,
                    "version": snapshot.version,
                    "content_hash": snapshot.content_hash,
                    "body": body,
                    "published_at": now,
                    "retracted_at": None,
                    "render_rev": plan.site.render_rev,
                }
            )
        else:  # the ORM batches these updates; the loaded rows stay true in the session
            before.version, before.content_hash = snapshot.version, snapshot.content_hash
            before.body, before.published_at = body, first_published
            before.retracted_at, before.render_rev = None, plan.site.render_rev
            session.add(before)
        # lists run newest first by the date they show, so an imported archive keeps its order
        position = micros(shown_date(snapshot, first_published))
        entries += [
            {
                "site": site.slug,
                "column": column.slug,
                "content_id": content_id,
                "version": snapshot.version,
                "position": position,
                "entry": orjson.dumps(render_entry(article, column, site)),
            }
            for column in columns
        ]
        op = "published" if first_published == now else "updated"
        change = change_row(site.slug, content_id, snapshot.version, op, article, now)
        # a subscriber of a column the item just left hears of the update too
        change.columns = sorted(set(change.columns) | set(listed_before.get(site.slug, [])))
        changes.append({c.name: getattr(change, c.name) for c in CHANGE_COLUMNS})
    await insert_rows(session, table_of(Article), new_articles)
    await insert_rows(session, table_of(ColumnEntry), entries)
    await insert_rows(session, table_of(Change), changes)  # in plan order: `seq` follows it
    await session.flush()
    return articles


def in_chunks(values: list[str], size: int = 500) -> list[list[str]]:
    """`IN (...)` lists of a bounded size (well under every driver's parameter limit)."""
    return [values[start : start + size] for start in range(0, len(values), size)]


async def stale_articles(session: AsyncSession, limit: int) -> list[Article]:
    """Published articles rendered before their site or columns last changed."""
    query = (
        select(Article)
        .join(Site, col(Site.slug) == col(Article.site))
        .where(col(Article.retracted_at).is_(None), col(Article.render_rev) < col(Site.render_rev))
        .limit(limit)
    )
    return list(await session.exec(query))


async def rerender(session: AsyncSession, article: Article, now: datetime) -> None:
    """Render a published article again from its snapshot with the site tree as it is now
    (an `updated` change-feed row tells caches)."""
    snapshot = await session.get(ContentSnapshot, (article.content_id, article.version))
    plan = await plan_portal(session, snapshot) if snapshot else None
    if snapshot is None or plan is None or plan.site is None or not plan.columns:
        site = await session.get(Site, article.site)
        article.render_rev = site.render_rev if site else article.render_rev
        session.add(article)
        return
    await publish_to_portal(session, snapshot, plan, now)


async def serialise_change_feed(session: AsyncSession) -> None:
    """Hold the change-feed lock until commit (PostgreSQL), so `seq` order is commit order.

    Without it, two workers could commit seq 8 before seq 7, and a poller already past 8 would
    never see 7. SQLite has one writer at a time anyway.
    """
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_FEED_LOCK})


async def listed_columns(session: AsyncSession, site: str, content_id: str) -> list[str]:
    """The columns of `site` that list the item now."""
    query = select(col(ColumnEntry.column)).where(
        col(ColumnEntry.site) == site, col(ColumnEntry.content_id) == content_id
    )
    return list(await session.exec(query))


def change_row(
    site: str,
    content_id: str,
    version: int,
    op: str,
    article: dict[str, Any] | None,
    now: datetime,
    *,
    kind: str = "",
    columns: list[str] | None = None,
) -> Change:
    """One change-feed record; a retraction (`article` None) is a tombstone without content.

    `kind` and `columns` (what app subscribers filter on) come from the article, else from the
    arguments (a tombstone: the kind and the columns that listed the item)."""
    payload: dict[str, Any] = {
        "op": op,
        "site": site,
        "content_id": content_id,
        "version": version,
        "at": iso(now),
        "href": f"/api/v1/sites/{site}/items/{content_id}",
    }
    if article is not None:
        payload |= {
            "content_hash": article["content_hash"],
            "title": article["title"],
            "columns": [c["slug"] for c in article["columns"]],
            "url": article["url"],
            "published_at": article["published_at"],
        }
        kind = article["kind"]
        columns = payload["columns"]
    return Change(
        site=site,
        content_id=content_id,
        version=version,
        op=op,
        kind=kind,
        columns=sorted(columns or []),
        payload=orjson.dumps(payload),
        at=now,
    )


async def retract_from_portal(
    session: AsyncSession, content_id: str, reason: str, now: datetime
) -> list[tuple[Article, list[str]]]:
    """Take the item off every site: entries go, the article answers 410, a tombstone is logged.

    Returns each retracted article with the columns it was listed in.
    """
    await serialise_change_feed(session)
    query = select(Article).where(
        col(Article.content_id) == content_id, col(Article.retracted_at).is_(None)
    )
    retracted = []
    for article in await session.exec(query):
        columns = await listed_columns(session, article.site, content_id)
        await session.execute(
            delete(ColumnEntry).where(
                col(ColumnEntry.site) == article.site, col(ColumnEntry.content_id) == content_id
            )
        )
        article.retracted_at = now
        session.add(article)
        shown = orjson.loads(article.body)
        tombstone = change_row(
            article.site, content_id, article.version, "retracted", None, now,
            kind=shown.get("kind", ""),
            columns=columns or [c["slug"] for c in shown.get("columns", [])],
        )  # fmt: skip
        tombstone.payload = orjson.dumps({**orjson.loads(tombstone.payload), "reason": reason})
        session.add(tombstone)
        retracted.append((article, columns))
    await session.flush()
    return retracted
