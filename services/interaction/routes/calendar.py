"""HTTP routes of the working-day calendar: due dates, days, notice imports, versions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from common.identity import ActorDep
from common.responses import cached_json_response, json_response
from services.interaction import calendar_store
from services.interaction.routes.dependencies import CtxDep, DepsDep
from services.interaction.schemas import (
    CalendarDayPublic,
    CalendarImport,
    CalendarImportedPublic,
    CalendarVersionPublic,
    DueDatePublic,
    Items,
)

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
MAX_WORKING_DAYS = 366


@router.get("/due-date", response_model=DueDatePublic)
async def due_date(
    request: Request,
    ctx: CtxDep,
    start: Annotated[date, Query(alias="from")],
    working_days: Annotated[int, Query(ge=0, le=MAX_WORKING_DAYS)],
) -> Response:
    """The due date N working days after a receipt date (the receipt day is not counted)."""
    body = calendar_store.due_date(ctx.calendar, start, working_days)
    return cached_json_response(request, body, max_age=300)


@router.get("/days", response_model=Items[CalendarDayPublic])
async def calendar_days(
    request: Request,
    ctx: CtxDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    """Each day of a range (at most 366): working day or not, kind, name, provisional."""
    return cached_json_response(request, calendar_store.days(ctx.calendar, start, end), max_age=300)


@router.post("/years/{year}", status_code=201, response_model=CalendarImportedPublic)
async def import_year(
    year: int, body: CalendarImport, ctx: CtxDep, deps: DepsDep, actor: ActorDep
) -> Response:
    """Import a year from the State Council notice; provisional deadlines are recomputed."""
    actor.require_role("admin")
    imported = await calendar_store.import_year(ctx, deps.calendar, year, body, actor.id)
    return json_response(imported, status_code=201)


@router.get("/versions", response_model=Items[CalendarVersionPublic])
async def calendar_versions(ctx: CtxDep, actor: ActorDep) -> Response:
    """Every load of a calendar year, newest first."""
    actor.require_role("admin", "office")
    versions = await calendar_store.list_versions(ctx.session)
    return json_response({"items": [v.model_dump(mode="json") for v in versions]})
