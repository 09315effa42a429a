"""`kitchen`: operator commands (run the hub, migrations, audit, imports, staff accounts)."""

from __future__ import annotations

import asyncio
import getpass
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from common.db import Database
from common.migrations import autogenerate_revision, upgrade_to_head
from gateway.cli import users_app
from kitchen.audit import audit_app
from kitchen.registry import ALL_PROCESSES, migrations_dir

app = typer.Typer(help="信息中央厨房 operator commands", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
contents_app = typer.Typer(help="Library items (资源库)", no_args_is_help=True)
app.add_typer(contents_app, name="contents")


def _check_service(service: str) -> str:
    if service not in ALL_PROCESSES:
        raise typer.BadParameter(f"one of {', '.join(ALL_PROCESSES)}")
    return service


@db_app.command("upgrade")
def db_upgrade(
    service: str = typer.Argument(..., callback=_check_service),
    url: str = typer.Option(..., help="database URL"),
) -> None:
    """Migrate a service's database to the newest revision."""

    async def run() -> None:
        database = Database(url)
        try:
            await upgrade_to_head(database, migrations_dir(service))
        finally:
            await database.dispose()

    asyncio.run(run())


@db_app.command("revision")
def db_revision(
    service: str = typer.Argument(..., callback=_check_service),
    message: str = typer.Option(..., "-m", help="what the revision changes"),
) -> None:
    """Autogenerate a revision from the models (against a scratch SQLite database)."""
    _import_models(service)

    async def run() -> None:
        with tempfile.TemporaryDirectory() as scratch:
            database = Database(f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}")
            try:
                await autogenerate_revision(database, migrations_dir(service), message)
            finally:
                await database.dispose()

    asyncio.run(run())


@app.command("run")
def run_hub() -> None:
    """Start broker, services and gateway locally (SQLite under var/), until Ctrl-C."""
    from kitchen.local import run_local

    run_local()


@app.command("topics")
def create_topics(bootstrap: str = typer.Option("127.0.0.1:9092", help="Kafka bootstrap")) -> None:
    """Create every topic the hub uses (and its dead-letter topic) if missing."""
    from kitchen.broker import run_prepare

    run_prepare(bootstrap)
    typer.echo("topics ready")


@app.command("import")
def import_documents(
    path: Annotated[
        Path, typer.Argument(exists=True, help="a file, a folder or a .zip of HTML/text")
    ],
    column: Annotated[list[str], typer.Option("--column", help="target column (repeatable)")],
    site: str = typer.Option(..., help="target site slug"),
    publisher: str = typer.Option(None, help="issuing agency (else taken from each document)"),
    kind: str = typer.Option("news", help="news, policy, interpretation, notice, …"),
    url: str = typer.Option("", help="ingest database URL (default: the service's own)"),
) -> None:
    """Bulk-import documents into the library, with a progress bar and a summary."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from services.ingest.bulk import ImportOptions, count, import_path
    from services.ingest.settings import IngestSettings

    settings = IngestSettings(database_url=url) if url else IngestSettings()
    options = ImportOptions(
        site=site, columns=column, publisher=publisher, kind=kind, operator=_operator()
    )
    console = Console()

    async def run() -> object:
        database = Database(settings.database_url_for("ingest"))
        try:
            await upgrade_to_head(database, migrations_dir("ingest"))
            with Progress(console=console) as progress:
                task = progress.add_task("导入 importing", total=count(path))
                return await import_path(
                    database, path, options, settings, lambda *_: progress.advance(task)
                )
        finally:
            await database.dispose()

    summary = asyncio.run(run())
    table = Table(title="Import summary")
    for column_name in ("outcome", "document", "item / reason"):
        table.add_column(column_name)
    for outcome in ("added", "merged", "rejected"):
        for name, detail in getattr(summary, outcome):
            table.add_row(outcome, name, detail)
    console.print(table)
    console.print(
        f"added {len(summary.added)}, merged {len(summary.merged)}, "  # type: ignore[attr-defined]
        f"rejected {len(summary.rejected)}"  # type: ignore[attr-defined]
    )


@contents_app.command("retract")
def retract_content(
    content_id: Annotated[str, typer.Argument(help="the item's id")],
    reason: Annotated[str, typer.Option(help="why it is taken down (2–500 characters)")],
    url: str = typer.Option("", help="ingest database URL (default: the service's own)"),
) -> None:
    """Retract (撤稿) a published item, as an admin would through the API: the library at once,
    every outlet once the ingest worker relays `content.retraction_requested`; audit-logged as
    `cli:<login>`."""
    from pydantic import ValidationError

    from common.errors import ProblemError
    from common.identity import Actor
    from common.jobs import JobRun, run_once
    from services.ingest.retraction import request_retraction
    from services.ingest.schemas import RetractionIn
    from services.ingest.settings import IngestSettings

    try:
        checked = RetractionIn(reason=reason).reason
    except ValidationError as error:
        raise typer.BadParameter(error.errors()[0]["msg"], param_hint="--reason") from error
    settings = IngestSettings(database_url=url) if url else IngestSettings()
    operator = Actor(id=_operator(), name="kitchen contents", kind="service", roles=["admin"])

    async def run() -> dict[str, object]:
        database = Database(settings.database_url_for("ingest"))
        try:
            await upgrade_to_head(database, migrations_dir("ingest"))

            async def act(run: JobRun) -> dict[str, object]:
                return await request_retraction(run.session, content_id, checked, operator)

            return await run_once(database, act)
        finally:
            await database.dispose()

    try:
        done = asyncio.run(run())
    except ProblemError as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"{content_id} retracted up to version {done['retracted_version']} "
        f"(audit-logged as {operator.id}); distribute takes it down from every outlet"
    )


def _operator() -> str:
    """Who ran the command, as far as the machine can tell (audited as `cli:<login>`)."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        login = "unknown"
    return f"cli:{login}"[:100]


def _import_models(service: str) -> None:
    module = "gateway.models" if service == "gateway" else f"services.{service}.models"
    __import__(module)


if __name__ == "__main__":
    app()
