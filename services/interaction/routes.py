"""HTTP routes of the calendar and departments: parse, authorise, call one function, return.

Case routes are in `case_routes.py`; knowledge, surveys, interviews, statistics and Open311 in
their own route modules. `routers` lists them all for the app.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from common.errors import Unprocessable
from common.identity import ActorDep
from common.responses import cached_json_response, json_response
from services.interaction.calendar_store import (
    calendar_version,
    import_notice_year,
    list_versions,
    load_calendar,
)
from services.interaction.cases.clocks import recompute_provisional
from services.interaction.clock import SHANGHAI
from services.interaction.departments import upsert_department
from services.interaction.deps import CtxDep
from services.interaction.models import Department
from services.interaction.schemas import CalendarImport, DepartmentIn

router = APIRouter(prefix="/api/v1", tags=["calendar"])
MAX_WORKING_DAYS = 366


@router.get("/calendar/due-date")
async def due_date(
    request: Request,
    ctx: CtxDep,
    start: Annotated[date, Query(alias="from")],
    working_days: Annotated[int, Query(ge=0, le=MAX_WORKING_DAYS)],
) -> Response:
    """The due date N working days after a receipt date (the receipt day is not counted)."""
    due = ctx.calendar.add_working_days(start, working_days)
    end_of_day = datetime.combine(due.on, time(23, 59, 59), SHANGHAI)
    body = {
        "from": start.isoformat(),
        "working_days": working_days,
        "due_on": due.on.isoformat(),
        "due_at": end_of_day.isoformat(),
        "provisional": due.provisional,
        "time_zone": "Asia/Shanghai",
    }
    return cached_json_response(request, body, max_age=300)


@router.get("/calendar/days")
async def calendar_days(
    request: Request,
    ctx: CtxDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    """Each day of a range (at most 366): working day or not, kind, name, provisional."""
    if end < start or (end - start).days > 366:
        raise Unprocessable("日期范围须在 0–366 天之间", field="to")
    days = []
    current = start
    while current <= end:
        info = ctx.calendar.day(current)
        days.append(
            {
                "date": current.isoformat(),
                "is_workday": info.is_workday,
                "kind": info.kind,
                "name": info.name,
                "provisional": not info.official,
            }
        )
        current = date.fromordinal(current.toordinal() + 1)
    return cached_json_response(request, {"items": days}, max_age=300)


@router.post("/calendar/years/{year}", status_code=201)
async def import_year(
    year: int, body: CalendarImport, request: Request, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Import a year from the State Council notice; provisional deadlines are recomputed."""
    actor.require_role("admin")
    if not 2004 <= year <= 2100:
        raise Unprocessable("年份超出范围", field="year")
    for field, days in (("holidays", body.holidays), ("makeup_workdays", body.makeup_workdays)):
        if any(d.date.year != year for d in days):
            raise Unprocessable(f"日期必须在 {year} 年内", field=field)
    holidays = {d.date: d.name for d in body.holidays}
    makeup = {d.date: d.name for d in body.makeup_workdays}
    if set(holidays) & set(makeup):
        raise Unprocessable("同一天不能既放假又调休上班", field="makeup_workdays")
    version = await import_notice_year(
        ctx.session, year, holidays, makeup, body.notice, actor.id, ctx.now()
    )
    ctx.calendar = await load_calendar(ctx.session)
    version.recomputed_cases = await recompute_provisional(ctx, actor.id)
    request.app.state.calendar.replace(ctx.calendar, await calendar_version(ctx.session))
    return json_response(
        {
            "year": year,
            "version": version.id,
            "notice": body.notice,
            "recomputed_cases": version.recomputed_cases,
        },
        status_code=201,
    )


@router.get("/calendar/versions")
async def calendar_versions(ctx: CtxDep, actor: ActorDep) -> Response:
    """Every load of a calendar year, newest first."""
    actor.require_role("admin", "office")
    return json_response(
        {"items": [v.model_dump(mode="json") for v in await list_versions(ctx.session)]}
    )


@router.get("/departments", tags=["departments"])
async def list_departments(request: Request, ctx: CtxDep) -> Response:
    """Departments that handle cases (public)."""
    rows = (await ctx.session.execute(select(Department).order_by(Department.code))).scalars()
    return cached_json_response(
        request, {"items": [d.model_dump(mode="json") for d in rows]}, max_age=60
    )


@router.put("/departments/{code}", tags=["departments"])
async def put_department(code: str, body: DepartmentIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Create or update a department (admin)."""
    actor.require_role("admin")
    if code != body.code:
        raise Unprocessable("路径与 code 不一致", field="code")
    department = await upsert_department(ctx.session, body, actor.id)
    return json_response(department.model_dump(mode="json"))
