"""`/api/v1/contents/{id}/schedule` and `/api/v1/schedules`: what is to go out or come down at a
set moment (定时发布, embargo, 到期下线), and editors moving or cancelling it before it fires."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from common.db import SessionDep
from common.events import utcnow
from common.pagination import MAX_LIMIT
from common.responses import json_response
from services.ingest import schedules
from services.ingest.library import item_in_scope
from services.ingest.routes.dependencies import ReaderDep
from services.ingest.routes.retraction import RetractionStaffDep
from services.ingest.schemas import SLUG_PATTERN, ScheduleIn, SchedulePublic, SchedulesPage

router = APIRouter(prefix="/api/v1", tags=["schedules"])
ContentId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.get("/contents/{content_id}/schedule", response_model=SchedulePublic)
async def read_schedule(content_id: ContentId, session: SessionDep, actor: ReaderDep) -> Response:
    """The item's schedule and where it stands (`waiting`, `published`, `expired`, …)."""
    item = await item_in_scope(session, content_id, actor)
    return json_response(schedules.schedule_out(item, utcnow()))


@router.put(
    "/contents/{content_id}/schedule",
    response_model=SchedulePublic,
    responses={409: {"description": "retracted, or the publication moment has fired"}},
)
async def change_schedule(
    content_id: ContentId, body: ScheduleIn, session: SessionDep, actor: RetractionStaffDep
) -> Response:
    """Replace the item's whole schedule (`null` cancels a part: an approved item without
    `publish_at` or embargo goes out at once). Distribute follows within a moment; a schedule
    that already fired cannot be moved, but `expire_at` can until it fires."""
    return json_response(await schedules.change(session, content_id, body, actor))


@router.get("/schedules", response_model=SchedulesPage)
async def list_schedules(
    session: SessionDep,
    actor: ReaderDep,
    site: Annotated[str | None, Query(pattern=SLUG_PATTERN)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """What is still to fire within the caller's sites, soonest first: items waiting to go out
    and items that will come down."""
    return json_response(await schedules.list_scheduled(session, actor, site, cursor, limit))
