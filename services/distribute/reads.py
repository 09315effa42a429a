"""Hot public reads: stored bytes out of one indexed query, no ORM objects per request.

Everything a portal reads was rendered at publish time (docs/ceilings.md: the ORM costs
4–5× per read).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Text, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from common.db import Database
from common.errors import BadRequest, NotFound, ProblemError
from common.pagination import decode_cursor, encode_cursor
from services.distribute.feeds import FeedFormat, render_feed
from services.distribute.models import Article, Change, ColumnEntry, Site, SiteColumn
from services.distribute.pagetags import ColumnInfo, SiteInfo


class Gone(ProblemError):
    status, code, title = 410, "gone", "Retracted"


@asynccontextmanager
async def reading(database: Database) -> AsyncIterator[AsyncConnection]:
    """A plain connection: hot reads select stored bytes and never build ORM objects."""
    async with database.engine.connect() as conn:
        yield conn


async def require_column(
    conn: AsyncConnection, site: str, column: str
) -> tuple[SiteInfo, ColumnInfo]:
    """The site and column, or a 404 naming which of the two is unknown."""
    query = (
        select(
            col(Site.slug),
            col(Site.name),
            col(Site.domain),
            col(Site.site_id_code),
            col(SiteColumn.name),
            col(SiteColumn.type),
        )
        .join(SiteColumn, col(SiteColumn.site) == col(Site.slug))
        .where(col(Site.slug) == site, col(SiteColumn.slug) == column)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        await require_site(conn, site)
        raise NotFound(f"no column {column!r} on site {site!r}", field="column")
    return SiteInfo(row[0], row[1], row[2], row[3]), ColumnInfo(column, row[4], row[5])


async def require_site(conn: AsyncConnection, site: str) -> None:
    if (await conn.execute(select(col(Site.slug)).where(col(Site.slug) == site))).first() is None:
        raise NotFound(f"no site {site!r}", field="site")


def _entry_position(cursor: str | None) -> tuple[int, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    if (
        not isinstance(position, list)
        or len(position) != 2
        or not isinstance(position[0], int)
        or not isinstance(position[1], str)
    ):
        raise BadRequest("invalid cursor", field="cursor")
    return position[0], position[1]


async def column_items(
    conn: AsyncConnection, site: str, column: str, cursor: str | None, limit: int
) -> bytes:
    """`{"items": [...], "next_cursor": ...}` of a column, newest first, as response bytes."""
    position = _entry_position(cursor)
    query = select(
        col(ColumnEntry.entry), col(ColumnEntry.position), col(ColumnEntry.content_id)
    ).where(col(ColumnEntry.site) == site, col(ColumnEntry.column) == column)
    if position is not None:
        query = query.where(
            or_(
                col(ColumnEntry.position) < position[0],
                and_(
                    col(ColumnEntry.position) == position[0],
                    col(ColumnEntry.content_id) < position[1],
                ),
            )
        )
    query = query.order_by(col(ColumnEntry.position).desc(), col(ColumnEntry.content_id).desc())
    rows = (await conn.execute(query.limit(limit + 1))).all()
    if not rows:
        await require_column(conn, site, column)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1][1], rows[-1][2]]) if more else None
    return (
        b'{"items":['
        + b",".join(r[0] for r in rows)
        + b'],"next_cursor":'
        + orjson.dumps(next_cursor)
        + b"}"
    )


async def article(conn: AsyncConnection, site: str, content_id: str) -> bytes:
    """The article JSON; 404 if it never was on the site, 410 once retracted."""
    query = select(col(Article.body), col(Article.retracted_at)).where(
        col(Article.site) == site, col(Article.content_id) == content_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        await require_site(conn, site)
        raise NotFound(f"no published item {content_id!r} on site {site!r}", field="content_id")
    if row[1] is not None:
        raise Gone(f"item {content_id!r} was retracted", field="content_id")
    return bytes(row[0])


async def feed(
    conn: AsyncConnection, site: str, column: str, fmt: FeedFormat, size: int, self_url: str
) -> bytes:
    """A column feed of its `size` newest items (kept by `PageCache` until the portal changes)."""
    site_info, column_info = await require_column(conn, site, column)
    newest = (
        select(col(ColumnEntry.content_id))
        .where(col(ColumnEntry.site) == site, col(ColumnEntry.column) == column)
        .order_by(col(ColumnEntry.position).desc(), col(ColumnEntry.content_id).desc())
        .limit(size)
    )
    listed = [row[0] for row in await conn.execute(newest)]
    articles = await _articles(conn, site, listed)
    return render_feed(fmt, site_info, column_info, articles, self_url)


async def _articles(conn: AsyncConnection, site: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    query = select(col(Article.content_id), col(Article.body)).where(
        col(Article.site) == site, col(Article.content_id).in_(ids)
    )
    bodies = {row[0]: orjson.loads(row[1]) for row in await conn.execute(query)}
    return [bodies[i] for i in ids if i in bodies]


def _change_position(cursor: str | None) -> int:
    position = decode_cursor(cursor)
    if position is None:
        return 0
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise BadRequest("invalid cursor", field="cursor")
    return position


@dataclass(frozen=True)
class ChangeFilter:
    """What an app subscriber reads of the change feed; None = everything."""

    site: str | None = None
    column: str | None = None
    kind: str | None = None


def _matching(wanted: ChangeFilter) -> list[ColumnElement[bool]]:
    """`wanted` as SQL, so a page is `limit` matching rows and the cursor never skips one.

    The kind is an indexed equality (`ix_change_feed_kind_seq`). The columns are a JSON list
    of slugs, matched as the quoted slug inside its text (`"news"`): the same on SQLite and
    PostgreSQL, with LIKE's wildcards escaped, and exact because a slug holds no quote."""
    clauses: list[ColumnElement[bool]] = []
    if wanted.site is not None:
        clauses.append(col(Change.site) == wanted.site)
    if wanted.kind is not None:
        clauses.append(col(Change.kind) == wanted.kind)
    if wanted.column is not None:
        listed = cast(col(Change.columns), Text)
        clauses.append(listed.contains(f'"{wanted.column}"', autoescape=True))
    return clauses


async def changes(
    conn: AsyncConnection, cursor: str | None, wanted: ChangeFilter, limit: int
) -> bytes:
    """Changes after the cursor, oldest first, that match `wanted` (site, column, kind).
    `next_cursor` is always set: keep it and ask again later to catch up; `has_more` says
    whether to ask right away."""
    after = _change_position(cursor)
    if wanted.site is not None:
        await require_site(conn, wanted.site)
    query = select(col(Change.seq), col(Change.payload)).where(
        col(Change.seq) > after, *_matching(wanted)
    )
    rows = (await conn.execute(query.order_by(col(Change.seq)).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if rows else after
    items = b",".join(b'{"seq":' + str(r[0]).encode() + b"," + bytes(r[1])[1:] for r in rows)
    tail = orjson.dumps({"next_cursor": encode_cursor(last), "has_more": more})
    return b'{"items":[' + items + b"]," + tail[1:]
