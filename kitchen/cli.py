"""`kitchen`: operator commands (run the hub, migrations, audit, imports)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import typer

from common.db import Database
from common.migrations import autogenerate_revision, upgrade_to_head
from kitchen.registry import ALL_PROCESSES, migrations_dir
from services.review.cli import audit_app

app = typer.Typer(help="信息中央厨房 operator commands", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")


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


def _import_models(service: str) -> None:
    module = "gateway.models" if service == "gateway" else f"services.{service}.models"
    __import__(module)


if __name__ == "__main__":
    app()
