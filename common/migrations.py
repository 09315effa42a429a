"""Alembic per service, run programmatically at start (and in tests) on the async engine.

Every process of a service (its API replicas and workers) migrates at start, so replicas that
start together would race to create the same tables. One migrates at a time: on PostgreSQL under
a transaction-scoped advisory lock (the DDL is transactional: the next one finds the database at
head and does nothing), on SQLite under an exclusive lock on a file beside the database.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from common.db import Database


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


# any constants: advisory locks are per database, and each service has its own database
MIGRATION_LOCK_KEY = 74_042_551  # "kitchen migrations"
STARTUP_LOCK_KEY = 74_042_552  # "kitchen start-up": migrations and the seeds after them


async def upgrade_to_head(database: Database, migrations_dir: Path) -> None:
    """Bring the database to the newest revision; concurrent callers migrate one at a time."""

    def run(connection: Connection) -> None:
        config = alembic_config(migrations_dir)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with sqlite_file_lock(database, "migrate"):
        async with database.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # released when this transaction ends
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(run)


@asynccontextmanager
async def one_starting_at_a_time(database: Database) -> AsyncIterator[None]:
    """Replicas starting together take turns through their start-up: migrations, then seeds
    that check-then-insert (a calendar, lexicons), which would otherwise both insert.

    A session-level advisory lock on its own connection on PostgreSQL, a file lock on SQLite;
    a different key and file from the migration lock, which `upgrade_to_head` takes inside it.
    """
    async with sqlite_file_lock(database, "startup"):
        if database.engine.url.get_backend_name() != "postgresql":
            yield
            return
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY}
                )
                await conn.commit()


@asynccontextmanager
async def sqlite_file_lock(database: Database, purpose: str) -> AsyncIterator[None]:
    """Hold an exclusive lock on `<database file>.<purpose>.lock` (SQLite files only; nothing
    for PostgreSQL or an in-memory database). The wait runs in a thread: the loop goes on."""
    url = database.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    handle = await asyncio.to_thread(open, f"{url.database}.{purpose}.lock", "a")
    try:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock


async def autogenerate_revision(database: Database, migrations_dir: Path, message: str) -> None:
    """Write a new revision comparing the models with a database already at head."""

    def run(connection: Connection) -> None:
        config = alembic_config(migrations_dir)
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    await upgrade_to_head(database, migrations_dir)
    async with database.engine.begin() as conn:
        await conn.run_sync(run)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave alone what migrations create by hand and models do not declare.

    Full-text objects (SQLite FTS5 tables and their shadow tables, PostgreSQL tsvector
    columns) are written with `op.execute`; without this, autogenerate proposes to drop them.
    """
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        return False  # FTS5 virtual tables and their shadow tables
    return not (type_ in ("column", "index") and "tsv" in (name or ""))


def run_env(context: Any, target_metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`: migrate on the connection handed in."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `kitchen db upgrade`, not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
