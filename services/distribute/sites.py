"""The site tree: admin changes and the public directory; the caller commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, NotFound, Unprocessable
from common.events import utcnow
from common.lookup import get_or_404
from services.distribute import audit
from services.distribute.feeds import feed_path
from services.distribute.models import Site, SiteColumn
from services.distribute.pagetags import COLUMN_TYPES, ColumnInfo, SiteInfo, iso
from services.distribute.schemas import ColumnCreate, ColumnUpdate, SiteCreate, SiteUpdate


def site_info(site: Site) -> SiteInfo:
    return SiteInfo(site.slug, site.name, site.domain, site.site_id_code)


def column_info(column: SiteColumn) -> ColumnInfo:
    return ColumnInfo(column.slug, column.name, column.type)


def site_out(site: Site) -> dict[str, Any]:
    return {
        "slug": site.slug,
        "name": site.name,
        "domain": site.domain,
        "site_id_code": site.site_id_code,
        "parent": site.parent,
        "description": site.description,
        "url": f"https://{site.domain}/",
        "updated_at": iso(site.updated_at),
    }


def column_out(column: SiteColumn) -> dict[str, Any]:
    info = SiteInfo(column.site, "", "", "")
    return {
        "slug": column.slug,
        "name": column.name,
        "type": column.type,
        "type_name": COLUMN_TYPES.get(column.type, COLUMN_TYPES["other"]),
        "description": column.description,
        "position": column.position,
        "site": column.site,
        "feeds": {
            fmt: feed_path(info, column_info(column), fmt) for fmt in ("rss", "atom", "json")
        },
    }


async def list_sites(session: AsyncSession) -> list[Site]:
    return list(await session.exec(select(Site).order_by(col(Site.slug))))


async def get_site(session: AsyncSession, slug: str) -> Site:
    return await get_or_404(session, Site, slug, detail=f"no site {slug!r}", field="site")


async def site_detail(session: AsyncSession, slug: str) -> dict[str, Any]:
    """One site with its columns, as the directory shows it."""
    found = await get_site(session, slug)
    columns = [column_out(c) for c in await list_columns(session, slug)]
    return {**site_out(found), "columns": columns}


async def list_columns(session: AsyncSession, site: str) -> list[SiteColumn]:
    """The site's columns in display order; 404 for an unknown site."""
    await get_site(session, site)
    query = (
        select(SiteColumn)
        .where(col(SiteColumn.site) == site)
        .order_by(col(SiteColumn.position), col(SiteColumn.slug))
    )
    return list(await session.exec(query))


async def get_column(session: AsyncSession, site: str, slug: str) -> SiteColumn:
    await get_site(session, site)
    query = select(SiteColumn).where(col(SiteColumn.site) == site, col(SiteColumn.slug) == slug)
    column = (await session.exec(query)).one_or_none()
    if column is None:
        raise NotFound(f"no column {slug!r} on site {site!r}", field="column")
    return column


async def create_site(session: AsyncSession, data: SiteCreate, actor: str) -> Site:
    if await session.get(Site, data.slug) is not None:
        raise Conflict(f"site {data.slug!r} exists", field="slug")
    if data.parent is not None and await session.get(Site, data.parent) is None:
        raise Unprocessable(f"unknown parent site {data.parent!r}", field="parent")
    now = utcnow()
    site = Site(**data.model_dump(), created_at=now, updated_at=now)
    session.add(site)
    await session.flush()
    await audit.record(session, actor, "site.created", f"site:{site.slug}", data.model_dump())
    return site


async def update_site(session: AsyncSession, slug: str, data: SiteUpdate, actor: str) -> Site:
    """Change a site; the upkeep job re-renders its published pages (`render_rev`)."""
    site = await get_site(session, slug)
    # null clears only the parent; other fields keep their value when sent as null
    changes = {
        k: v
        for k, v in data.model_dump(exclude_unset=True).items()
        if v is not None or k == "parent"
    }
    parent = changes.get("parent")
    if parent is not None and (parent == slug or await session.get(Site, parent) is None):
        raise Unprocessable(f"unusable parent site {parent!r}", field="parent")
    for name, value in changes.items():
        setattr(site, name, value)
    site.updated_at = utcnow()
    site.render_rev += 1
    session.add(site)
    await session.flush()
    await audit.record(session, actor, "site.changed", f"site:{slug}", changes)
    return site


async def create_column(
    session: AsyncSession, site: str, data: ColumnCreate, actor: str
) -> SiteColumn:
    await get_site(session, site)
    now = utcnow()
    column = SiteColumn(site=site, **data.model_dump(), created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(column)
            await session.flush()
    except IntegrityError as error:
        raise Conflict(f"column {data.slug!r} exists on site {site!r}", field="slug") from error
    subject = f"column:{site}/{column.slug}"
    await audit.record(session, actor, "column.created", subject, data.model_dump())
    return column


async def update_column(
    session: AsyncSession, site: str, slug: str, data: ColumnUpdate, actor: str
) -> SiteColumn:
    column = await get_column(session, site, slug)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for name, value in changes.items():
        setattr(column, name, value)
    column.updated_at = utcnow()
    session.add(column)
    owner = await get_site(session, site)
    owner.render_rev += 1
    session.add(owner)
    await session.flush()
    await audit.record(session, actor, "column.changed", f"column:{site}/{slug}", changes)
    return column
