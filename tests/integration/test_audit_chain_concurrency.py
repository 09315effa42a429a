"""Appends racing for the very first entry of a chain both land: one head row, no fork."""

from __future__ import annotations

import asyncio

from common.db import Database
from common.migrations import upgrade_to_head
from kitchen.audit import CHAINS
from kitchen.registry import migrations_dir


async def test_first_appends_at_once_make_one_chain(database_url: str) -> None:
    chain = CHAINS["ingest"].chain
    database = Database(database_url)
    try:
        await upgrade_to_head(database, migrations_dir("ingest"))

        async def append(n: int) -> None:
            async with database.sessions() as session:
                await chain.append(session, "admin", "t.race", f"s{n}", {"n": n})
                await session.commit()

        await asyncio.gather(*(append(n) for n in range(20)))
        async with database.sessions() as session:
            result = await chain.verify(session)
        assert result.ok and result.checked == 20, result
    finally:
        await database.dispose()
