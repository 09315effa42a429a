"""The `calendar_day` table: seeding, loading into a `WorkCalendar`, and importing a notice year."""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any, cast

import sqlmodel
from sqlalchemy import delete, func, insert, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Unprocessable
from services.interaction import audit
from services.interaction.calendar import (
    CalendarDay,
    DayKind,
    WorkCalendar,
    last_official_year,
    notice_year,
    official_year,
    provisional_year,
)
from services.interaction.cases.clocks import recompute_provisional
from services.interaction.clock import SHANGHAI
from services.interaction.context import Ctx
from services.interaction.models import CalendarDayRow, CalendarVersion
from services.interaction.schemas import CalendarImport

FIRST_OFFICIAL_YEAR = 2004
MAX_RANGE_DAYS = 366


async def _store_year(
    session: AsyncSession,
    year: int,
    days: list[CalendarDay],
    source: str,
    actor: str,
    at: datetime,
    notice: str = "",
) -> CalendarVersion:
    version = CalendarVersion(
        year=year, source=source, notice=notice, imported_by=actor, imported_at=at
    )
    session.add(version)
    await session.flush()
    await session.execute(
        delete(CalendarDayRow).where(
            col(CalendarDayRow.day) >= date(year, 1, 1),
            col(CalendarDayRow.day) <= date(year, 12, 31),
        )
    )
    rows = [
        {
            "day": d.day,
            "is_workday": d.is_workday,
            "kind": d.kind,
            "name": d.name,
            "official": d.official,
            "version": version.id,
        }
        for d in days
    ]
    await session.execute(insert(CalendarDayRow), rows)
    return version


async def seed_calendar(
    session: AsyncSession, provisional_until: int, at: datetime, actor: str = "system"
) -> int:
    """Fill an empty table: official years from chinesecalendar, provisional years after them.

    Returns how many years were stored (0 when the table already has days).
    """
    if (await session.execute(select(func.count()).select_from(CalendarDayRow))).scalar_one():
        return 0
    last = last_official_year()
    for year in range(FIRST_OFFICIAL_YEAR, last + 1):
        await _store_year(session, year, official_year(year), "chinesecalendar", actor, at)
    for year in range(last + 1, provisional_until + 1):
        await _store_year(session, year, provisional_year(year), "provisional", actor, at)
    return provisional_until - FIRST_OFFICIAL_YEAR + 1


async def import_notice_year(
    session: AsyncSession,
    year: int,
    holidays: dict[date, str],
    makeup_days: dict[date, str],
    notice: str,
    actor: str,
    at: datetime,
) -> CalendarVersion:
    """Replace a year with what a State Council notice states; the year becomes official."""
    version = await _store_year(
        session, year, notice_year(year, holidays, makeup_days), "notice", actor, at, notice
    )
    counts = {"holidays": len(holidays), "makeup_workdays": len(makeup_days)}
    await audit.record(
        session, actor, "calendar.imported", f"calendar:{year}", {"notice": notice, **counts}
    )
    return version


async def load_calendar(session: AsyncSession) -> WorkCalendar:
    rows = (await session.exec(sqlmodel.select(CalendarDayRow))).all()
    return WorkCalendar(
        CalendarDay(r.day, r.is_workday, cast(DayKind, r.kind), r.name, r.official) for r in rows
    )


async def calendar_version(session: AsyncSession) -> int:
    return int((await session.execute(select(func.max(CalendarVersion.id)))).scalar() or 0)


async def list_versions(session: AsyncSession) -> list[CalendarVersion]:
    query = sqlmodel.select(CalendarVersion).order_by(col(CalendarVersion.id).desc()).limit(100)
    return list((await session.exec(query)).all())


class CalendarCache:
    """One loaded calendar per process, reloaded when another replica imported a newer version.

    The version check is one indexed query at most every `refresh_seconds`; an import in this
    process replaces the cache at once.
    """

    def __init__(self, refresh_seconds: float) -> None:
        self.refresh_seconds = refresh_seconds
        self.calendar: WorkCalendar | None = None
        self.version = -1
        self.checked = 0.0

    async def get(self, session: AsyncSession) -> WorkCalendar:
        fresh = time.monotonic() - self.checked < self.refresh_seconds
        if self.calendar is not None and fresh:
            return self.calendar
        version = await calendar_version(session)
        if self.calendar is None or version != self.version:
            self.calendar = await load_calendar(session)
            self.version = version
        self.checked = time.monotonic()
        return self.calendar

    def replace(self, calendar: WorkCalendar, version: int) -> None:
        self.calendar, self.version, self.checked = calendar, version, time.monotonic()


# --- what the calendar routes answer ---------------------------------------------------------


def due_date(calendar: WorkCalendar, start: date, working_days: int) -> dict[str, Any]:
    """The due date N working days after a receipt date (the receipt day is not counted)."""
    due = calendar.add_working_days(start, working_days)
    end_of_day = datetime.combine(due.on, clock_time(23, 59, 59), SHANGHAI)
    return {
        "from": start.isoformat(),
        "working_days": working_days,
        "due_on": due.on.isoformat(),
        "due_at": end_of_day.isoformat(),
        "provisional": due.provisional,
        "time_zone": "Asia/Shanghai",
    }


def days(calendar: WorkCalendar, start: date, end: date) -> dict[str, Any]:
    """Each day of a range (at most 366): working day or not, kind, name, provisional."""
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        raise Unprocessable("日期范围须在 0–366 天之间", field="to")
    items = []
    current = start
    while current <= end:
        info = calendar.day(current)
        items.append(
            {
                "date": current.isoformat(),
                "is_workday": info.is_workday,
                "kind": info.kind,
                "name": info.name,
                "provisional": not info.official,
            }
        )
        current = date.fromordinal(current.toordinal() + 1)
    return {"items": items}


async def import_year(
    ctx: Ctx, cache: CalendarCache, year: int, body: CalendarImport, actor: str
) -> dict[str, Any]:
    """Import a year from the State Council notice; provisional deadlines are recomputed and
    this process's calendar is replaced at once."""
    if not 2004 <= year <= 2100:
        raise Unprocessable("年份超出范围", field="year")
    for field, named in (("holidays", body.holidays), ("makeup_workdays", body.makeup_workdays)):
        if any(d.date.year != year for d in named):
            raise Unprocessable(f"日期必须在 {year} 年内", field=field)
    holidays = {d.date: d.name for d in body.holidays}
    makeup = {d.date: d.name for d in body.makeup_workdays}
    if set(holidays) & set(makeup):
        raise Unprocessable("同一天不能既放假又调休上班", field="makeup_workdays")
    version = await import_notice_year(
        ctx.session, year, holidays, makeup, body.notice, actor, ctx.now()
    )
    ctx.calendar = await load_calendar(ctx.session)
    version.recomputed_cases = await recompute_provisional(ctx, actor)
    cache.replace(ctx.calendar, await calendar_version(ctx.session))
    return {
        "year": year,
        "version": version.id,
        "notice": body.notice,
        "recomputed_cases": version.recomputed_cases,
    }
