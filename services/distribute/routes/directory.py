"""Public site directory (no actor): sites and their columns.

Every answer carries `ETag` and `Cache-Control` and honours `If-None-Match`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from common.db import SessionDep
from common.pagination import Page
from common.responses import cached_json_response
from services.distribute import sites
from services.distribute.routes.dependencies import DepsDep, max_age
from services.distribute.schemas import ColumnPublic, SiteDetailPublic, SitePublic

router = APIRouter(tags=["public"])


@router.get("/api/v1/sites", response_model=Page[SitePublic])
async def list_sites(request: Request, session: SessionDep, deps: DepsDep) -> Response:
    """Every site of the hub."""
    items = [sites.site_out(s) for s in await sites.list_sites(session)]
    body = {"items": items, "next_cursor": None}
    return cached_json_response(request, body, max_age(deps))


@router.get("/api/v1/sites/{site}", response_model=SiteDetailPublic)
async def get_site(site: str, request: Request, session: SessionDep, deps: DepsDep) -> Response:
    """One site with its columns."""
    return cached_json_response(request, await sites.site_detail(session, site), max_age(deps))


@router.get("/api/v1/sites/{site}/columns", response_model=Page[ColumnPublic])
async def list_columns(site: str, request: Request, session: SessionDep, deps: DepsDep) -> Response:
    """The site's columns in display order."""
    items = [sites.column_out(c) for c in await sites.list_columns(session, site)]
    body = {"items": items, "next_cursor": None}
    return cached_json_response(request, body, max_age(deps))


@router.get("/api/v1/sites/{site}/columns/{column}", response_model=ColumnPublic)
async def get_column(
    site: str, column: str, request: Request, session: SessionDep, deps: DepsDep
) -> Response:
    """One column."""
    found = await sites.get_column(session, site, column)
    return cached_json_response(request, sites.column_out(found), max_age(deps))
