"""Replicas that start together migrate one at a time: four processes upgrading the same fresh
database at once all succeed, and it ends at head with one version row and every table once."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import inspect, text

from common.db import Database

UPGRADE = """
import asyncio, sys
from common.db import Database
from common.migrations import upgrade_to_head
from kitchen.registry import migrations_dir

async def main() -> None:
    database = Database(sys.argv[1])
    try:
        await upgrade_to_head(database, migrations_dir("distribute"))
    finally:
        await database.dispose()

asyncio.run(main())
"""


async def test_four_processes_migrating_at_once_all_succeed(database_url: str) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", UPGRADE, database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(4)
    ]
    results = [await p.communicate() for p in processes]
    failures = [
        err.decode()[-2000:] for (_, err), p in zip(results, processes, strict=True) if p.returncode
    ]
    assert failures == []
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await database.dispose()
    assert len(versions) == 1
    assert {"release", "delivery", "content_schedule"} <= set(tables)


START = """
import asyncio, sys
from asgi_lifespan import LifespanManager
from services.interaction.app import create_app
from services.interaction.settings import InteractionSettings

async def main() -> None:
    app = create_app(InteractionSettings(database_url=sys.argv[1], process_role="api"))
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30):
        pass

asyncio.run(main())
"""


async def test_replicas_starting_at_once_seed_once(database_url: str) -> None:
    """Start-up seeds check-then-insert (interaction's working-day calendar): replicas that
    start together take turns, so the second finds the calendar and stores nothing."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", START, database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [await p.communicate() for p in processes]
    failures = [
        err.decode()[-2000:] for (_, err), p in zip(results, processes, strict=True) if p.returncode
    ]
    assert not failures, failures[0]
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            days = await conn.scalar(text("SELECT count(*) FROM calendar_day"))
            distinct = await conn.scalar(text("SELECT count(DISTINCT day) FROM calendar_day"))
        assert days == distinct and days > 365 * 20
    finally:
        await database.dispose()
