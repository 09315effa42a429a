"""SQLite writers of one process take turns in the order they asked, instead of racing in
SQLite's busy handler, where a writer that keeps losing fails "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from common.db import Database

pytestmark = pytest.mark.any_database  # SQLite's own behaviour: the SQLite pass runs it

ROUNDS = 40


def _table() -> Table:
    return Table(
        "writes", MetaData(), Column("id", Integer, primary_key=True), Column("by", String)
    )


async def _open_connections(*databases: Database) -> None:
    """Leave two connections open in each pool, so the writer that asks once is not still
    connecting (and, on a new engine, reading SQLite's settings) while busy rounds go by:
    what is measured is the wait for a turn, not the time to connect on a loaded machine."""
    for database in databases:
        async with database.engine.connect() as first, database.engine.connect() as second:
            await first.execute(select(1))
            await second.execute(select(1))


async def _busy_and_once(busy_db: Database, once_db: Database) -> tuple[int, int, list[str]]:
    """A busy writer (on `busy_db`) commits and writes again at once, `ROUNDS` times; another
    (on `once_db`) asks once while it holds the file. Returns the busy writer's round the other
    asked in, the round it wrote in, and who wrote each row in order."""
    writes = _table()
    async with busy_db.engine.begin() as conn:
        await conn.run_sync(writes.metadata.create_all)
    await _open_connections(busy_db, once_db)
    rounds_done = 0
    asked = asyncio.Event()
    rounds: list[int] = []

    async def busy() -> None:
        nonlocal rounds_done
        for number in range(ROUNDS):
            async with busy_db.sessions() as session:
                await session.execute(insert(writes).values(by="busy"))
                if number == 3:
                    asked.set()
                await asyncio.sleep(0.01)  # the transaction holds the file for a while
                await session.commit()
            rounds_done += 1

    async def once() -> None:
        await asked.wait()
        rounds.append(rounds_done)
        async with once_db.sessions() as session:
            await session.execute(insert(writes).values(by="once"))
            rounds.append(rounds_done)
            await session.commit()

    await asyncio.gather(busy(), once())
    async with once_db.sessions() as session:
        order = list((await session.execute(select(writes.c.by).order_by(writes.c.id))).scalars())
    assert len(order) == ROUNDS + 1
    return rounds[0], rounds[1], order


async def test_a_writer_is_not_starved_by_one_that_writes_again_at_once(tmp_path: Path) -> None:
    """SQLite's busy handler retries a waiting writer after 1, 2, 5, …, 100 ms, and a writer
    that writes again at once has the file again by then nearly every time (unqueued, the
    waiting one wrote 7 rounds later); queued, it writes right after the round it asked in."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'writers.db'}")
    try:
        asked, written, order = await _busy_and_once(database, database)
    finally:
        await database.dispose()
    assert written - asked <= 1, (asked, written)
    assert order.index("once") <= 5


async def test_writers_of_two_engines_on_one_file_share_the_queue(tmp_path: Path) -> None:
    """Two engines on one file in one process (a service and a job or tool beside it) queue
    in one line: SQLite's lock is the file's, not the engine's."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    try:
        asked, written, _ = await _busy_and_once(first, second)
    finally:
        await first.dispose()
        await second.dispose()
    assert written - asked <= 1, (asked, written)
