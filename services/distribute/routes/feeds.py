"""Public column feeds (no actor): RSS 2.0, Atom 1.0, JSON Feed 1.1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from common.errors import NotFound
from common.responses import cached_bytes_response
from services.distribute import reads
from services.distribute.feeds import FEED_FORMATS, MEDIA_TYPES
from services.distribute.routes.dependencies import DepsDep, PagesDep, fresh, max_age

router = APIRouter(tags=["public"])
FEED_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()}}
}


@router.get(
    "/feeds/{site}/{column}.{fmt}",
    response_class=Response,
    response_model=None,
    responses=FEED_CONTENT,
)
async def column_feed(
    site: str, column: str, fmt: str, request: Request, pages: PagesDep, deps: DepsDep
) -> Response:
    """The column as RSS 2.0 (`.rss`), Atom (`.atom`) or JSON Feed 1.1 (`.json`)."""
    if fmt not in FEED_FORMATS:
        raise NotFound(f"no feed format {fmt!r}; use rss, atom or json", field="format")
    self_url, size = str(request.url.replace(query="")), deps.settings.feed_size
    page = await pages.page(
        ("feed", site, column, fmt, self_url),
        lambda conn: reads.feed(conn, site, column, FEED_FORMATS[fmt], size, self_url),
        fresh(request),
    )
    return cached_bytes_response(request, page.body, MEDIA_TYPES[fmt], max_age(deps), page.etag)
