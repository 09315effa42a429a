"""Public column feeds (no actor): RSS 2.0, Atom 1.0, JSON Feed 1.1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from common.errors import NotFound
from common.responses import cached_bytes_response
from services.distribute import reads
from services.distribute.feeds import FEED_FORMATS, MEDIA_TYPES
from services.distribute.routes.dependencies import ConnDep, DepsDep, max_age

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
    site: str, column: str, fmt: str, request: Request, conn: ConnDep, deps: DepsDep
) -> Response:
    """The column as RSS 2.0 (`.rss`), Atom (`.atom`) or JSON Feed 1.1 (`.json`)."""
    if fmt not in FEED_FORMATS:
        raise NotFound(f"no feed format {fmt!r}; use rss, atom or json", field="format")
    body = await reads.feed(
        conn,
        deps.feed_cache,
        site,
        column,
        FEED_FORMATS[fmt],
        deps.settings.feed_size,
        str(request.url.replace(query="")),
    )
    return cached_bytes_response(request, body, MEDIA_TYPES[fmt], max_age(deps))
