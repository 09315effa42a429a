"""索引号: generated from a per-publisher pattern, unique per publisher, never reused.

The serial comes from an `index_counter` row created or bumped by one atomic
`INSERT … ON CONFLICT DO UPDATE … RETURNING`, so two concurrent submissions never get the same
number, and a number once handed out is never handed
out again (items are never deleted, counters never go down).
"""

from __future__ import annotations

import hashlib

from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import dialect_insert, table_of
from services.ingest.models import IndexCounter

COUNTERS = table_of(IndexCounter)  # core statements: no ORM unit of work on the submission path


def org_code(publisher: str, codes: dict[str, str]) -> str:
    """The configured 组织机构代码, or a stable 9-digit code derived from the name."""
    if publisher in codes:
        return codes[publisher]
    return str(int(hashlib.sha256(publisher.encode()).hexdigest(), 16) % 10**9).zfill(9)


def format_index_no(pattern: str, org: str, year: int, serial: int) -> str:
    return pattern.format(org=org, year=year, serial=serial)


async def next_serial(session: AsyncSession, publisher: str, year: int) -> int:
    """The next serial of `publisher` in `year` (1 for its first), in one statement."""
    statement = dialect_insert(session, COUNTERS).values(
        publisher=publisher, year=year, next_serial=2
    )
    bumped = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[COUNTERS.c.publisher, COUNTERS.c.year],
            set_={"next_serial": COUNTERS.c.next_serial + 1},
        ).returning(COUNTERS.c.next_serial)
    )
    return int(bumped.scalar_one()) - 1


async def allocate(
    session: AsyncSession,
    publisher: str,
    year: int,
    patterns: dict[str, str],
    default_pattern: str,
    codes: dict[str, str],
) -> str:
    serial = await next_serial(session, publisher, year)
    pattern = patterns.get(publisher, default_pattern)
    return format_index_no(pattern, org_code(publisher, codes), year, serial)
