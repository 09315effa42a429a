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
