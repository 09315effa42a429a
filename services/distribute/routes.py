"""Public reads (no actor): the site directory, column lists, articles, feeds, change feed.

Every answer carries `ETag` and `Cache-Control` and honours `If-None-Match`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from common.db import SessionDep
from common.errors import NotFound
from common.pagination import MAX_LIMIT
from common.responses import cached_bytes_response, cached_json_response
from services.distribute import reads, sites
from services.distribute.feeds import FEED_FORMATS, MEDIA_TYPES

router = APIRouter(tags=["public"])
JSON = "application/json"


async def read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A plain connection: hot reads select stored bytes and never build ORM objects."""
    async with request.app.state.db.engine.connect() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection, Depends(read_connection, scope="function")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def max_age(request: Request) -> int:
    return int(request.app.state.settings.public_max_age)


@router.get("/api/v1/sites")
async def list_sites(request: Request, session: SessionDep) -> Response:
    """Every site of the hub."""
    items = [sites.site_out(s) for s in await sites.list_sites(session)]
    return cached_json_response(request, {"items": items, "next_cursor": None}, max_age(request))


@router.get("/api/v1/sites/{site}")
async def get_site(site: str, request: Request, session: SessionDep) -> Response:
    """One site with its columns."""
    found = await sites.get_site(session, site)
    columns = [sites.column_out(c) for c in await sites.list_columns(session, site)]
    body = {**sites.site_out(found), "columns": columns}
    return cached_json_response(request, body, max_age(request))


@router.get("/api/v1/sites/{site}/columns")
async def list_columns(site: str, request: Request, session: SessionDep) -> Response:
    """The site's columns in display order."""
    items = [sites.column_out(c) for c in await sites.list_columns(session, site)]
    return cached_json_response(request, {"items": items, "next_cursor": None}, max_age(request))


@router.get("/api/v1/sites/{site}/columns/{column}")
async def get_column(site: str, column: str, request: Request, session: SessionDep) -> Response:
    """One column."""
    found = await sites.get_column(session, site, column)
    return cached_json_response(request, sites.column_out(found), max_age(request))


@router.get("/api/v1/sites/{site}/columns/{column}/items")
async def column_items(
    site: str,
    column: str,
    request: Request,
    conn: ConnDep,
    cursor: str | None = None,
    limit: Limit = 20,
) -> Response:
    """Published items of a column, newest first."""
    body = await reads.column_items(conn, site, column, cursor, limit)
    return cached_bytes_response(request, body, JSON, max_age(request))


@router.get("/api/v1/sites/{site}/items/{content_id}")
async def get_item(site: str, content_id: str, request: Request, conn: ConnDep) -> Response:
    """A published article with its page tags; 410 once retracted."""
    body = await reads.article(conn, site, content_id)
    return cached_bytes_response(request, body, JSON, max_age(request))


@router.get("/feeds/{site}/{column}.{fmt}")
async def column_feed(
    site: str, column: str, fmt: str, request: Request, conn: ConnDep
) -> Response:
    """The column as RSS 2.0 (`.rss`), Atom (`.atom`) or JSON Feed 1.1 (`.json`)."""
    if fmt not in FEED_FORMATS:
        raise NotFound(f"no feed format {fmt!r}; use rss, atom or json", field="format")
    settings = request.app.state.settings
    body = await reads.feed(
        conn,
        request.app.state.feed_cache,
        site,
        column,
        FEED_FORMATS[fmt],
        settings.feed_size,
        str(request.url.replace(query="")),
    )
    return cached_bytes_response(request, body, MEDIA_TYPES[fmt], max_age(request))


@router.get("/api/v1/changes")
async def changes(
    request: Request,
    conn: ConnDep,
    cursor: str | None = None,
    site: str | None = None,
    limit: Limit = 100,
) -> Response:
    """Publications, updates and retraction tombstones after `cursor`, oldest first."""
    body = await reads.changes(conn, cursor, site, limit)
    # short: a poller that just caught up must see the next change soon
    return cached_bytes_response(request, body, JSON, max_age=5)
