"""`/api/v1/sites/{site}/search`: the public portal search of one site's published items — no
actor required."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.responses import json_response
from services.ingest.routes.dependencies import SearchDep
from services.ingest.schemas import SiteSearchPublic
from services.ingest.search.results import site_search

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/sites/{site}/search", response_model=SiteSearchPublic)
async def search_site(
    site: str,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    search: SearchDep,
) -> Response:
    """Search a site's published items, in either script, with facets and highlighted snippets."""
    filters = search.filters(site=site)
    found = await site_search(session, q, filters, search.order, search.cursor, search.limit)
    return json_response(found, headers={"Cache-Control": "public, max-age=30"})
