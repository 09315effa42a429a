"""索引号: generated from a per-publisher pattern, unique per publisher, never reused.

The serial comes from an `index_counter` row bumped with one atomic UPDATE … RETURNING, so two
concurrent submissions never get the same number, and a number once handed out is never handed
out again (items are never deleted, counters never go down).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.ingest.models import IndexCounter


def org_code(publisher: str, codes: dict[str, str]) -> str:
    """The configured 组织机构代码, or a stable 9-digit code derived from the name."""
    if publisher in codes:
        return codes[publisher]
    return str(int(hashlib.sha256(publisher.encode()).hexdigest(), 16) % 10**9).zfill(9)


def format_index_no(pattern: str, org: str, year: int, serial: int) -> str:
    return pattern.format(org=org, year=year, serial=serial)


async def next_serial(session: AsyncSession, publisher: str, year: int) -> int:
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    await session.execute(
        insert(IndexCounter)
        .values(publisher=publisher, year=year, next_serial=1)
        .on_conflict_do_nothing()
    )
    bumped = await session.execute(
        update(IndexCounter)
        .where(col(IndexCounter.publisher) == publisher, col(IndexCounter.year) == year)
        .values(next_serial=col(IndexCounter.next_serial) + 1)
        .returning(col(IndexCounter.next_serial))
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
