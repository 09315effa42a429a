"""The `calendar_day` table: seeding, loading into a `WorkCalendar`, and importing a notice year."""

from __future__ import annotations

import time
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.interaction import audit
from services.interaction.calendar import (
    CalendarDay,
    WorkCalendar,
    last_official_year,
    notice_year,
    official_year,
    provisional_year,
)
from services.interaction.models import CalendarDayRow, CalendarVersion

FIRST_OFFICIAL_YEAR = 2004


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
            CalendarDayRow.day >= date(year, 1, 1), CalendarDayRow.day <= date(year, 12, 31)
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
    rows = (await session.execute(select(CalendarDayRow))).scalars()
    return WorkCalendar(
        CalendarDay(r.day, r.is_workday, r.kind, r.name, r.official)  # type: ignore[arg-type]
        for r in rows
    )


async def calendar_version(session: AsyncSession) -> int:
    return int((await session.execute(select(func.max(CalendarVersion.id)))).scalar() or 0)


async def list_versions(session: AsyncSession) -> list[CalendarVersion]:
    query = select(CalendarVersion).order_by(CalendarVersion.id.desc()).limit(100)
    return list((await session.execute(query)).scalars())


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
