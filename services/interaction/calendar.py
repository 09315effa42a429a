"""Working days on the official Chinese calendar, with make-up working days (调休).

Pure domain code: no database, no HTTP. `WorkCalendar` answers from an in-memory map of days that
the service loads from its `calendar_day` table. Counting rules (docs/ARCHITECTURE.md, interaction):
the day of receipt is not counted; the deadline is the end of the N-th working day after the local
receipt date; a date in a year without official data makes the result provisional.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

DayKind = Literal["weekday", "weekend", "holiday", "makeup"]
ONE_DAY = timedelta(days=1)
# Nothing we count spans more than a few months; a runaway loop means a broken calendar.
MAX_SCAN_DAYS = 3660


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    is_workday: bool
    kind: DayKind
    name: str = ""
    official: bool = True


@dataclass(frozen=True, slots=True)
class Due:
    """A computed deadline: the last working day, and whether a provisional year was involved."""

    on: date
    provisional: bool


class WorkCalendar:
    """Answers working-day questions; dates outside the table count as provisional weekdays."""

    def __init__(self, days: Iterable[CalendarDay]) -> None:
        self._days = {d.day: d for d in days}

    def __len__(self) -> int:
        return len(self._days)

    def day(self, on: date) -> CalendarDay:
        known = self._days.get(on)
        if known is not None:
            return known
        weekend = on.weekday() >= 5
        return CalendarDay(on, not weekend, "weekend" if weekend else "weekday", official=False)

    def is_workday(self, on: date) -> bool:
        return self.day(on).is_workday

    def add_working_days(self, start: date, working_days: int) -> Due:
        """The N-th working day after `start` (which itself is never counted)."""
        if working_days < 0:
            raise ValueError("working_days must be >= 0")
        provisional = not self.day(start).official
        current, counted = start, 0
        for _ in range(MAX_SCAN_DAYS):
            if counted == working_days:
                return Due(current, provisional)
            current += ONE_DAY
            info = self.day(current)
            provisional = provisional or not info.official
            counted += info.is_workday
        raise ValueError("calendar has no working days in range")

    def subtract_working_days(self, due: date, working_days: int) -> date:
        """The working day that lies N working days before `due` (T−N)."""
        current, counted = due, 0
        for _ in range(MAX_SCAN_DAYS):
            if counted == working_days:
                return current
            current -= ONE_DAY
            counted += self.is_workday(current)
        raise ValueError("calendar has no working days in range")

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many a clock consumed from `start` to `end`."""
        return sum(self.is_workday(d) for d in _dates(start + ONE_DAY, end))


def _dates(first: date, last: date) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current += ONE_DAY


# --- where days come from -----------------------------------------------------------------


def official_year(year: int) -> list[CalendarDay]:
    """One year from the `chinesecalendar` package (State Council notices, 2004 onwards).

    Raises NotImplementedError for a year the package has no data for.
    """
    import chinese_calendar

    days = []
    for on in _dates(date(year, 1, 1), date(year, 12, 31)):
        is_holiday, name = chinese_calendar.get_holiday_detail(on)
        is_weekend = on.weekday() >= 5
        if on in chinese_calendar.holidays:
            kind: DayKind = "holiday"
        elif on in chinese_calendar.workdays:
            kind = "makeup"
        else:
            kind = "weekend" if is_weekend else "weekday"
        label = HOLIDAY_NAMES.get(name or "", name or "")
        days.append(CalendarDay(on, not is_holiday, kind, label, official=True))
    return days


HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of a year (全国年节及纪念日放假办法, 2025 revision: 13 days).

    Without a notice there are no bridges and no make-up days; those come with the official import.
    """
    from lunardate import LunarDate

    def lunar(month: int, day: int) -> date:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            solar: date = LunarDate(year, month, day).toSolarDate()
            return solar

    new_year = lunar(1, 1)
    days = {date(year, 1, 1): "元旦"}
    for offset in range(-1, 3):  # 除夕 and the first three days of the lunar year
        days[new_year + timedelta(days=offset)] = "春节"
    days[_qingming(year)] = "清明节"
    days[date(year, 5, 1)] = days[date(year, 5, 2)] = "劳动节"
    days[lunar(5, 5)] = "端午节"
    days[lunar(8, 15)] = "中秋节"
    for day in (1, 2, 3):
        days[date(year, 10, day)] = "国庆节"
    return days


def _qingming(year: int) -> date:
    import chinese_calendar

    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
    qingming: date = next(d for d, name in terms if name == "清明")
    return qingming


def provisional_year(year: int) -> list[CalendarDay]:
    """Weekends plus statutory holidays, every day flagged provisional."""
    holidays = statutory_holidays(year)
    days = []
    for on in _dates(date(year, 1, 1), date(year, 12, 31)):
        if on in holidays:
            days.append(CalendarDay(on, False, "holiday", holidays[on], official=False))
        elif on.weekday() >= 5:
            days.append(CalendarDay(on, False, "weekend", official=False))
        else:
            days.append(CalendarDay(on, True, "weekday", official=False))
    return days


def notice_year(
    year: int, holidays: dict[date, str], makeup_days: dict[date, str]
) -> list[CalendarDay]:
    """A year as a State Council notice states it: its days off and its make-up working days."""
    days = []
    for on in _dates(date(year, 1, 1), date(year, 12, 31)):
        if on in holidays:
            days.append(CalendarDay(on, False, "holiday", holidays[on]))
        elif on in makeup_days:
            days.append(CalendarDay(on, True, "makeup", makeup_days[on]))
        elif on.weekday() >= 5:
            days.append(CalendarDay(on, False, "weekend"))
        else:
            days.append(CalendarDay(on, True, "weekday"))
    return days


def last_official_year() -> int:
    import chinese_calendar

    last: int = max(d.year for d in chinese_calendar.holidays)
    return last
