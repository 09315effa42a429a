"""Alembic per service, run programmatically at start (and in tests) on the async engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from common.db import Database


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


async def upgrade_to_head(database: Database, migrations_dir: Path) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(migrations_dir)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


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
