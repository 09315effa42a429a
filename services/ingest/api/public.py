"""Public portal search of one site's published items — no actor required."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.pagination import MAX_LIMIT
from common.responses import json_response
from services.ingest import docnumber
from services.ingest.api.searching import run_search
from services.ingest.schemas import ContentKind
from services.ingest.search.query import SearchFilters

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/sites/{site}/search")
async def search_site(
    site: str,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    column: str | None = None,
    kind: ContentKind | None = None,
    publisher: str | None = None,
    doc_number: str | None = None,
    topic: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    order: Literal["relevance", "date"] = "relevance",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """Search a site's published items, in either script, with facets and highlighted snippets."""
    filters = SearchFilters(
        site=site, column=column, kind=kind, publisher=publisher,
        doc_number=docnumber.canonical(doc_number), topic=topic, date_from=date_from,
        date_to=date_to,
    )  # fmt: skip
    # Public search runs on the published versions' index: an item edited after publication
    # is still found by its published text until the new version is published.
    result = await run_search(session, q, filters, order, cursor, limit, public=True)
    result["facets"].pop("status", None)
    return json_response(result, headers={"Cache-Control": "public, max-age=30"})
