"""`kitchen users …`: staff accounts managed from the operator's shell (the first admin)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from common.db import Database
from common.errors import ProblemError
from common.identity import Actor
from common.jobs import JobRun, run_once
from common.migrations import upgrade_to_head
from gateway import service
from gateway.login import policy_of
from gateway.models import StaffUser
from gateway.settings import GatewaySettings

users_app = typer.Typer(help="Staff accounts of the gateway", no_args_is_help=True)
MIGRATIONS = Path(__file__).parent / "migrations"


def _settings(url: str | None) -> GatewaySettings:
    """The gateway's settings as `KITCHEN_*` sets them, with the database URL given, if any."""
    try:
        return GatewaySettings(database_url=url) if url else GatewaySettings()
    except ValidationError as error:
        reasons = "; ".join(e["msg"] for e in error.errors())
        raise typer.BadParameter(f"gateway settings are invalid: {reasons}") from error


def _operator() -> Actor:
    """Who ran the command, as far as the machine can tell."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        login = "unknown"
    return Actor(id=f"cli:{login}"[:100], name=f"kitchen users ({login})", kind="service")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    password: str = typer.prompt("Password 密码", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create-admin")
def create_admin_command(
    username: Annotated[str, typer.Option(help="login name of the new admin")],
    display_name: Annotated[
        str | None, typer.Option(help="name shown in the console (default: the username)")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="gateway database URL (default: gateway settings)")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="read the password from stdin's first line"),
    ] = False,
) -> None:
    """Create an admin account (the first one on a fresh installation); audit-logged.

    The password is prompted twice (or read from stdin). It needs 12 characters or more, with
    3 or more of: lowercase, uppercase, digits, other characters (`KITCHEN_PASSWORD_*`).
    """
    settings = _settings(database_url)
    url, policy = settings.database_url_for("gateway"), policy_of(settings)
    password = _read_password(password_stdin)
    problems = service.password_problems(password, policy)
    if problems:
        typer.echo(f"密码太弱 password too weak: {'; '.join(problems)}", err=True)
        raise typer.Exit(1)
    operator = _operator()

    async def run() -> None:
        database = Database(url)
        try:
            await upgrade_to_head(database, MIGRATIONS)

            async def create(run: JobRun) -> StaffUser:
                return await service.create_admin(
                    run.session, username, display_name or username, password, operator, policy
                )

            await run_once(database, create)
        finally:
            await database.dispose()

    try:
        asyncio.run(run())
    except ProblemError as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"admin {username} created (audit-logged as {operator.id})")
