"""The deadline table: Chinese working days with make-up days, across the hard holidays."""

from __future__ import annotations

from datetime import date

import pytest

from services.interaction.calendar import WorkCalendar, official_year, provisional_year

CALENDAR = WorkCalendar(
    [d for year in (2024, 2025, 2026) for d in official_year(year)] + provisional_year(2027)
)

# (case, receipt date, working days, due date, provisional) — hand-counted, receipt day not counted
TABLE = [
    (
        "National Day 2025: Fri 09-26 message (naive Mon–Fri says 10-07)",
        date(2025, 9, 26),
        7,
        date(2025, 10, 13),
        False,
    ),
    (
        "National Day 2025: receipt on holiday 10-03",
        date(2025, 10, 3),
        7,
        date(2025, 10, 16),
        False,
    ),
    (
        "National Day 2025: receipt on make-up Sun 09-28, 纠错 +1",
        date(2025, 9, 28),
        1,
        date(2025, 9, 29),
        False,
    ),
    (
        "Spring Festival 2025: 纠错 Fri 01-24 +1 → make-up Sun 01-26",
        date(2025, 1, 24),
        1,
        date(2025, 1, 26),
        False,
    ),
    (
        "Spring Festival 2025: 纠错 reply +2 from 01-26",
        date(2025, 1, 26),
        2,
        date(2025, 2, 5),
        False,
    ),
    ("Spring Festival 2025: Fri 01-24 message", date(2025, 1, 24), 7, date(2025, 2, 10), False),
    (
        "Spring Festival 2025: receipt on holiday 01-30",
        date(2025, 1, 30),
        7,
        date(2025, 2, 12),
        False,
    ),
    (
        "Spring Festival 2025: receipt on make-up Sun 01-26",
        date(2025, 1, 26),
        7,
        date(2025, 2, 11),
        False,
    ),
    (
        "Extension 2025: 15 working days from acceptance 09-23",
        date(2025, 9, 23),
        15,
        date(2025, 10, 20),
        False,
    ),
    (
        "Suspension 2025: received 09-22, 2 working days paused (7+2)",
        date(2025, 9, 22),
        9,
        date(2025, 10, 10),
        False,
    ),
    ("2026 New Year: Wed 2025-12-31", date(2025, 12, 31), 7, date(2026, 1, 12), False),
    (
        "2026 Spring Festival: Fri 02-13 (make-up Sat 02-14, 02-28)",
        date(2026, 2, 13),
        7,
        date(2026, 3, 2),
        False,
    ),
    (
        "2026 Labour Day: Thu 04-30 (make-up Sat 05-09)",
        date(2026, 4, 30),
        7,
        date(2026, 5, 13),
        False,
    ),
    (
        "2026 Mid-autumn + National Day: receipt on holiday Fri 09-25",
        date(2026, 9, 25),
        7,
        date(2026, 10, 12),
        False,
    ),
    ("2027 without a notice: provisional", date(2026, 12, 30), 7, date(2027, 1, 11), True),
    (
        "2027 Spring Festival, provisional statutory days 02-05..02-08",
        date(2027, 2, 1),
        7,
        date(2027, 2, 12),
        True,
    ),
]


@pytest.mark.parametrize(
    ("label", "received", "days", "due", "provisional"), TABLE, ids=[t[0] for t in TABLE]
)
def test_deadline_table(
    label: str, received: date, days: int, due: date, provisional: bool
) -> None:
    result = CALENDAR.add_working_days(received, days)
    assert (result.on, result.provisional) == (due, provisional), label


def test_make_up_days_and_holidays_are_typed() -> None:
    assert CALENDAR.day(date(2025, 1, 26)).kind == "makeup" and CALENDAR.is_workday(
        date(2025, 1, 26)
    )
    assert (
        CALENDAR.day(date(2025, 10, 6)).kind == "holiday" and CALENDAR.day(date(2025, 10, 6)).name
    )
    assert (
        not CALENDAR.day(date(2027, 2, 6)).official
        and CALENDAR.day(date(2027, 2, 6)).name == "春节"
    )


def test_warning_days_count_back_over_holidays() -> None:
    # due Mon 2025-10-13: T−1 is Sat 10-11 (make-up day), T−2 is Fri 10-10
    assert CALENDAR.subtract_working_days(date(2025, 10, 13), 1) == date(2025, 10, 11)
    assert CALENDAR.subtract_working_days(date(2025, 10, 13), 2) == date(2025, 10, 10)
    assert CALENDAR.working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1


def test_dates_beyond_the_table_are_provisional_weekdays() -> None:
    far = CALENDAR.add_working_days(date(2040, 1, 2), 5)
    assert far.provisional and far.on == date(2040, 1, 9)
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(date(2025, 1, 1), -1)
