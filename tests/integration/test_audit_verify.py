"""`kitchen audit verify` checks every service's chain in its own database, reports each one, and
fails when any is broken; `--service` limits it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import orjson
import pytest
from sqlalchemy import update
from typer.testing import CliRunner, Result

from common.db import Database
from common.migrations import upgrade_to_head
from common.testing import throwaway_database
from kitchen.audit import CHAINS
from kitchen.cli import app as cli
from kitchen.registry import migrations_dir


async def run_cli(args: list[str], env: dict[str, str] | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)


@pytest.fixture
async def chains(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """Each service's own migrated database holding a chain of three entries."""
    async with AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        for name in CHAINS:
            url = await stack.enter_async_context(throwaway_database(tmp_path))
            database = Database(url)
            try:
                await upgrade_to_head(database, migrations_dir(name))
                async with database.sessions() as session:
                    for n in range(3):
                        await CHAINS[name].chain.append(session, "admin", "t.act", f"s{n}", {})
                    await session.commit()
            finally:
                await database.dispose()
            urls[name] = url
        yield urls


def url_options(urls: dict[str, str]) -> list[str]:
    return [arg for name, url in urls.items() for arg in ("--url", f"{name}={url}")]


async def alter(url: str, service: str, seq: int) -> None:
    entry = CHAINS[service].chain.entry
    database = Database(url)
    try:
        async with database.sessions() as session:
            await session.execute(update(entry).where(entry.seq == seq).values(actor="someone"))
            await session.commit()
    finally:
        await database.dispose()


async def test_every_chain_is_verified_and_one_broken_chain_fails_the_run(
    chains: dict[str, str],
) -> None:
    intact = await run_cli(["audit", "verify", *url_options(chains)])
    assert intact.exit_code == 0, intact.output
    report = orjson.loads(intact.stdout)
    assert report["ok"] is True
    assert list(report["services"]) == ["gateway", "review", "distribute", "ingest", "interaction"]
    assert all(r["ok"] and r["checked"] == 3 for r in report["services"].values())

    await alter(chains["distribute"], "distribute", 2)
    broken = await run_cli(["audit", "verify", *url_options(chains)])
    assert broken.exit_code == 1
    report = orjson.loads(broken.stdout)
    assert report["ok"] is False
    assert report["services"]["distribute"]["first_bad_seq"] == 2
    assert [n for n, r in report["services"].items() if not r["ok"]] == ["distribute"]
    assert "distribute: chain broken at entry 2" in broken.stderr

    others = ["--service", "gateway", "--service", "ingest", *url_options(chains)]
    limited = await run_cli(["audit", "verify", *others])
    assert limited.exit_code == 0, limited.output
    assert list(orjson.loads(limited.stdout)["services"]) == ["gateway", "ingest"]


async def test_an_unreadable_chain_is_not_intact_and_unknown_services_are_refused(
    chains: dict[str, str], tmp_path: Path
) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}"
    outcome = await run_cli(["audit", "verify", "--service", "ingest", "--url", f"ingest={empty}"])
    assert outcome.exit_code == 1
    report = orjson.loads(outcome.stdout)
    assert report["service"] == "ingest" and report["reason"].startswith("cannot read the chain")

    unknown = await run_cli(["audit", "verify", "--service", "nonesuch"])
    assert unknown.exit_code == 2
    two = ["--service", "gateway", "--service", "review"]
    bare = await run_cli(["audit", "verify", "--url", chains["review"], *two])
    assert bare.exit_code == 2  # a bare URL belongs to one service


async def test_without_url_a_service_reads_its_settings(chains: dict[str, str]) -> None:
    env = {"KITCHEN_DATABASE_URL": chains["gateway"]}
    outcome = await run_cli(["audit", "verify", "--service", "gateway"], env=env)
    assert outcome.exit_code == 0, outcome.output
    report = orjson.loads(outcome.stdout)
    assert (report["service"], report["ok"], report["checked"]) == ("gateway", True, 3)


async def test_settings_that_cannot_load_are_a_usage_error(chains: dict[str, str]) -> None:
    env = {"KITCHEN_ENVIRONMENT": "production", "KITCHEN_DATABASE_URL": chains["gateway"]}
    outcome = await run_cli(["audit", "verify", "--service", "gateway"], env=env)
    assert outcome.exit_code == 2 and "gateway=URL" in outcome.output
