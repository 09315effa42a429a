"""Public hot reads (no actor): column lists, articles, the change feed — stored bytes out,
column pages and articles from memory while the portal is unchanged (`PageCache`).

Every answer carries `ETag` and `Cache-Control` and honours `If-None-Match`; the response
models document the bytes (FastAPI does not re-validate a returned `Response`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from common.pagination import Page
from common.responses import cached_bytes_response
from services.distribute import reads
from services.distribute.routes.dependencies import (
    JSON,
    ConnDep,
    DepsDep,
    Limit,
    PagesDep,
    fresh,
    max_age,
)
from services.distribute.schemas import (
    SLUG_PATTERN,
    ArticlePublic,
    ChangesPublic,
    EntryPublic,
    ItemKind,
)

router = APIRouter(tags=["public"])
CHANGES_MAX_AGE = 5  # short: a poller that just caught up must see the next change soon


@router.get("/api/v1/sites/{site}/columns/{column}/items", response_model=Page[EntryPublic])
async def column_items(
    site: str,
    column: str,
    request: Request,
    pages: PagesDep,
    deps: DepsDep,
    cursor: str | None = None,
    limit: Limit = 20,
) -> Response:
    """Published items of a column, newest first."""
    page = await pages.page(
        ("list", site, column, cursor, limit),
        lambda conn: reads.column_items(conn, site, column, cursor, limit),
        fresh(request),
    )
    return cached_bytes_response(request, page.body, JSON, max_age(deps), page.etag)


@router.get("/api/v1/sites/{site}/items/{content_id}", response_model=ArticlePublic)
async def get_item(
    site: str, content_id: str, request: Request, pages: PagesDep, deps: DepsDep
) -> Response:
    """A published article with its page tags; 410 once retracted."""
    page = await pages.page(
        ("article", site, content_id),
        lambda conn: reads.article(conn, site, content_id),
        fresh(request),
    )
    return cached_bytes_response(request, page.body, JSON, max_age(deps), page.etag)


@router.get("/api/v1/changes", response_model=ChangesPublic)
async def changes(
    request: Request,
    conn: ConnDep,
    cursor: str | None = None,
    site: str | None = None,
    column: Annotated[str | None, Query(pattern=SLUG_PATTERN)] = None,
    kind: ItemKind | None = None,
    limit: Limit = 100,
) -> Response:
    """Publications, updates and retraction tombstones after `cursor`, oldest first; an app
    subscriber reads only its `site`, `column` (an update lists the columns the item left too)
    and `kind`. A filtered page still holds up to `limit` matching changes."""
    wanted = reads.ChangeFilter(site=site, column=column, kind=kind)
    body = await reads.changes(conn, cursor, wanted, limit)
    return cached_bytes_response(request, body, JSON, max_age=CHANGES_MAX_AGE)
