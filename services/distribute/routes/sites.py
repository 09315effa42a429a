"""Admin routes of the site tree: sites and their columns."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.responses import json_response
from services.distribute import sites
from services.distribute.schemas import (
    ColumnCreate,
    ColumnPublic,
    ColumnUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.post("/sites", status_code=201, response_model=SitePublic)
async def create_site(data: SiteCreate, session: SessionDep, actor: ActorDep) -> Response:
    """Create a site (admin)."""
    actor.require_role("admin")
    site = await sites.create_site(session, data, actor.id)
    return json_response(sites.site_out(site), 201, {"Location": f"/api/v1/sites/{site.slug}"})


@router.patch("/sites/{site}", response_model=SitePublic)
async def update_site(
    site: str, data: SiteUpdate, session: SessionDep, actor: ActorDep
) -> Response:
    """Change a site's names or codes (admin); published pages follow shortly."""
    actor.require_role("admin")
    actor.require_site(site)
    return json_response(sites.site_out(await sites.update_site(session, site, data, actor.id)))


@router.post("/sites/{site}/columns", status_code=201, response_model=ColumnPublic)
async def create_column(
    site: str, data: ColumnCreate, session: SessionDep, actor: ActorDep
) -> Response:
    """Add a column to a site (admin)."""
    actor.require_role("admin")
    actor.require_site(site)
    column = await sites.create_column(session, site, data, actor.id)
    location = f"/api/v1/sites/{site}/columns/{column.slug}"
    return json_response(sites.column_out(column), 201, {"Location": location})


@router.patch("/sites/{site}/columns/{column}", response_model=ColumnPublic)
async def update_column(
    site: str, column: str, data: ColumnUpdate, session: SessionDep, actor: ActorDep
) -> Response:
    """Rename or retype a column (admin)."""
    actor.require_role("admin")
    actor.require_site(site)
    changed = await sites.update_column(session, site, column, data, actor.id)
    return json_response(sites.column_out(changed))
