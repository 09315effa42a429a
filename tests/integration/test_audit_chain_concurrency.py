"""Appends racing for the very first entry of a chain both land: one head row, no fork; entries
appended together stay together, in order."""

from __future__ import annotations

import asyncio

import orjson

from common.audit_chain import Record
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


async def test_entries_appended_together_link_in_order(database_url: str) -> None:
    chain = CHAINS["ingest"].chain
    database = Database(database_url)
    try:
        await upgrade_to_head(database, migrations_dir("ingest"))

        async def batch(n: int) -> None:
            records = [Record("admin", "t.batch", f"b{n}", {"n": n, "i": i}) for i in range(3)]
            async with database.sessions() as session:
                await chain.append_many(session, records)
                await session.commit()

        await asyncio.gather(*(batch(n) for n in range(10)))
        async with database.sessions() as session:
            head = await chain.ensure_head(session)  # held: it stays in the identity map
            before = head.seq
            await chain.append(session, "admin", "t.single", "s", {})
            # The ORM's head, loaded before that core append, is read again, not kept stale.
            assert (await chain.ensure_head(session)).seq == before + 1 == 31
            await session.commit()
            result = await chain.verify(session)
            entries = await chain.history(session, None, None, 100)
        assert result.ok and result.checked == 31, result
        by_batch = [(e.subject, orjson.loads(e.data)["i"]) for e in entries if e.subject != "s"]
        for start in range(0, 30, 3):  # each batch's entries are consecutive and in order
            subjects = {subject for subject, _ in by_batch[start : start + 3]}
            assert len(subjects) == 1
            assert [i for _, i in by_batch[start : start + 3]] == [0, 1, 2]
    finally:
        await database.dispose()
