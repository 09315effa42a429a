"""`kitchen audit head|export|verify-archive`: anchors and archives of the review audit chain.

`kitchen audit verify` (every service's chain) is `kitchen/audit.py`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer

from common.db import Database
from common.jobs import JobRun, run_once
from common.migrations import upgrade_to_head
from services.review import audit
from services.review.settings import ReviewSettings

audit_app = typer.Typer(help="The review service's hash-chained audit trail", no_args_is_help=True)
MIGRATIONS = Path(__file__).parent / "migrations"


def _url(url: str | None) -> str:
    return url or ReviewSettings().database_url_for("review")


def _print(payload: object) -> None:
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())


@audit_app.command("head")
def head_command(
    out: Annotated[Path | None, typer.Option(help="also write the anchor to this file")] = None,
    url: Annotated[str | None, typer.Option(help="review database URL (default: settings)")] = None,
) -> None:
    """Print the chain head {seq, hash}: keep it outside the database as an anchor."""

    async def run() -> audit.Anchor:
        database = Database(_url(url))
        try:
            async with database.sessions() as session:
                return await audit.current_anchor(session)
        finally:
            await database.dispose()

    payload = asyncio.run(run()).as_dict()
    if out is not None:
        out.write_bytes(orjson.dumps(payload) + b"\n")
    _print(payload)


@audit_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="archive file to write (JSON Lines)")],
    older_than_days: Annotated[int, typer.Option(help="export entries older than N days")] = 183,
    prune: Annotated[bool, typer.Option(help="remove exported entries")] = False,
    url: Annotated[str | None, typer.Option(help="review database URL (default: settings)")] = None,
) -> None:
    """Write entries older than N days to an archive headed by its chain head."""
    settings = ReviewSettings()
    before = datetime.now(UTC) - timedelta(days=older_than_days)

    async def export(run: JobRun) -> dict[str, object]:
        return await audit.export(
            run.session, before, out, prune=prune,
            retention_days=settings.audit_retention_days, actor="cli",
        )  # fmt: skip

    async def run() -> dict[str, object]:
        database = Database(_url(url))
        try:
            await upgrade_to_head(database, MIGRATIONS)
            return await run_once(database, export)
        finally:
            await database.dispose()

    _print(asyncio.run(run()))


@audit_app.command("verify-archive")
def verify_archive_command(path: Path) -> None:
    """Check an archive file's own chain against the head it records."""
    result = audit.verify_archive(path)
    _print(result.as_dict())
    if not result.ok:
        raise typer.Exit(1)
