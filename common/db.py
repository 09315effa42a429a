"""Async database engines and sessions (SQLite embedded default, PostgreSQL by URL)."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from itertools import groupby
from typing import Annotated, Any, cast

from fastapi import Depends, Path, Request
from sqlalchemy import Column, CursorResult, MetaData, Table, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# The widest integer an INTEGER column holds on PostgreSQL (SQLite binds up to 2**63 - 1); a
# larger one fails deep in the driver (a 500), so integer parameters are bounded where declared.
INTEGER_MAX = 2**31 - 1
VersionPath = Annotated[int, Path(ge=1, le=INTEGER_MAX, description="a version number, from 1")]
RowIdPath = Annotated[int, Path(ge=1, le=INTEGER_MAX, description="a numeric id, from 1")]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """One MetaData per service, so each service's tables and migrations stay its own."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# How long a writer waits for SQLite's write lock before "database is locked".
BUSY_TIMEOUT_SECONDS = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.close()


WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
HELD_KEY = "kitchen_sqlite_write_lock"


class SqliteWriters:
    """One writing connection at a time per SQLite file in this process, queued in turn.

    SQLite lets one connection write at a time; the others spin in its busy handler, sleeping
    up to 100 ms between tries, so under a steady stream of writes a waiting writer can lose
    every race until its busy timeout and fail "database is locked" (4 of 1,000 submissions at
    16 concurrent), while the process sits idle between tries (ingest used 42 % of a core).
    A connection here takes an asyncio lock at its first writing statement and gives it back
    when it returns to the pool, after its commit or rollback — the span SQLite holds its own
    write lock for — so the writers of one process queue first in, first out. Processes
    sharing a file (KITCHEN_WORKERS) still meet in SQLite's busy handler.
    """

    def __init__(self) -> None:
        # an asyncio.Lock serves one event loop; each loop (a test's, the server's) gets its own
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _acquire(self) -> asyncio.Lock:
        lock = self._lock()
        try:
            await asyncio.wait_for(lock.acquire(), BUSY_TIMEOUT_SECONDS)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        return lock

    def before_write(
        self, conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> tuple[str, Any]:
        """`before_cursor_execute`: wait for this file's turn before a connection's first write
        (inside SQLAlchemy's greenlet, so the wait yields to the event loop)."""
        if HELD_KEY not in conn.info and statement.lstrip()[:7].upper().startswith(
            WRITE_STATEMENTS
        ):
            conn.info[HELD_KEY] = await_only(self._acquire())
        return statement, parameters

    @staticmethod
    def release(_dbapi_connection: Any, record: Any) -> None:
        """`checkin`: the connection is back in the pool, its transaction over."""
        lock: asyncio.Lock | None = record.info.pop(HELD_KEY, None) if record else None
        if lock is not None and lock.locked():
            lock.release()

    def watch(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self.before_write, retval=True)
        event.listen(engine.sync_engine.pool, "checkin", self.release)


# one queue per database file, shared by every engine on it in this process
_WRITERS: dict[str, SqliteWriters] = {}


def create_engine(url: str, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An engine with WAL, a busy timeout and one writer at a time on SQLite
    (`SqliteWriters`); on PostgreSQL a pool of `pool_size` connections kept open and
    `max_overflow` more opened under load."""
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        path = engine.url.database or ":memory:"
        if path != ":memory:":  # an in-memory database is its engine's own
            if path not in _WRITERS:
                _WRITERS[path] = SqliteWriters()
            _WRITERS[path].watch(engine)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )


class Database:
    """An engine and its session factory, created in a lifespan and disposed at shutdown."""

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size, max_overflow)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; committed before the response is sent, rolled back on error."""
    database: Database = request.app.state.db
    async with database.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


# rows per INSERT statement of `insert_rows`: bounds the memory of one statement's parameters
INSERT_CHUNK = 1000


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], chunk: int = INSERT_CHUNK
) -> None:
    """Insert many rows in the caller's transaction with a few executemany statements (core, no
    ORM unit of work per row): what a fan-out to thousands of targets writes. Every row must
    carry the same keys."""
    for start in range(0, len(rows), chunk):
        await session.execute(insert(table), list(rows[start : start + chunk]))


async def insert_models(session: AsyncSession, models: Sequence[SQLModel]) -> None:
    """Insert new model objects with core statements, in order, one per table run: what the
    ORM's flush would write (every column's attribute; an unset autoincrement key left to the
    database) without its unit of work. The objects stay outside the session — read back what
    is needed with a query; this is for rows written once and not touched again here."""
    for kind, group in groupby(models, key=type):
        table = table_of(kind)
        rows = [model_row(table, model) for model in group]
        for keys in dict.fromkeys(tuple(row) for row in rows):  # one statement per key set
            await insert_rows(session, table, [row for row in rows if tuple(row) == keys])


def model_row(table: Table, model: SQLModel) -> dict[str, Any]:
    row = {column.key: getattr(model, column.key) for column in table.columns}
    return {
        key: value
        for key, value in row.items()
        if value is not None or not table.columns[key].primary_key
    }


def dialect_insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` built for the session's database, so that it takes an
    `ON CONFLICT` clause (SQLite and PostgreSQL spell it alike; each dialect has its own
    construct)."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)


async def insert_unless_present(
    session: AsyncSession, model: SQLModel, conflict_on: Sequence[Column[Any]] | None = None
) -> bool:
    """Insert a new model object with one `INSERT … ON CONFLICT DO NOTHING` (on any unique key,
    or only on `conflict_on`); False when such a row was there already. The object stays
    outside the session, as with `insert_models`."""
    table = table_of(type(model))
    statement = dialect_insert(session, table).on_conflict_do_nothing(index_elements=conflict_on)
    result = await session.execute(statement, model_row(table, model))
    return cast(CursorResult[Any], result).rowcount == 1


def table_of(model: type[SQLModel]) -> Table:
    """The core table of a SQLModel table class (for `insert_rows`)."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
    return table
