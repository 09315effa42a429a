"""`kitchen audit …`: verify every service's audit chain; review's anchors and archives.

Each service keeps its own chain (`common.audit_chain`) in its own database: the gateway
(accounts, API keys), review (checks, decisions, overrides, lexicons, policies), distribute
(site tree, webhook receivers, staff re-sends, takedowns, settled releases), ingest (sources
and their secrets, quarantine releases, crawls and imports started by staff) and interaction
(case publications prepared and approved, departments, calendar imports). `verify` reads each
chain at the URL its own settings give (`database_url_for`), or at `--url NAME=URL`; it never
migrates or writes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from common.audit_chain import Anchor, AuditChain, Verification, load_anchor
from common.db import Database
from common.settings import ServiceSettings
from gateway import audit as gateway_audit
from gateway.settings import GatewaySettings
from services.distribute import audit as distribute_audit
from services.distribute.settings import DistributeSettings
from services.ingest import audit as ingest_audit
from services.ingest.settings import IngestSettings
from services.interaction import audit as interaction_audit
from services.interaction.settings import InteractionSettings
from services.review import audit as review_audit
from services.review import cli as review_cli
from services.review.settings import ReviewSettings


@dataclass(frozen=True)
class Chain:
    chain: AuditChain[Any, Any]
    settings: type[ServiceSettings]


# every service that keeps a chain, in the order they are reported
CHAINS: dict[str, Chain] = {
    "gateway": Chain(gateway_audit.CHAIN, GatewaySettings),
    "review": Chain(review_audit.CHAIN, ReviewSettings),
    "distribute": Chain(distribute_audit.CHAIN, DistributeSettings),
    "ingest": Chain(ingest_audit.CHAIN, IngestSettings),
    "interaction": Chain(interaction_audit.CHAIN, InteractionSettings),
}
# a bare `--url URL` (no NAME=) and `--anchor` without `--service` mean review, as they always did
LEGACY_SERVICE = "review"

audit_app = typer.Typer(help="The services' hash-chained audit trails", no_args_is_help=True)


def _print(payload: object) -> None:
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())


def _split_urls(urls: list[str]) -> tuple[dict[str, str], str | None]:
    """`NAME=URL` options by service, and the one bare URL (the older spelling), if any."""
    named: dict[str, str] = {}
    bare: list[str] = []
    for value in urls:
        name, sep, url = value.partition("=")
        if sep and name in CHAINS:
            named[name] = url
        elif sep and name.isidentifier():
            raise typer.BadParameter(f"no audit chain in {name!r}", param_hint="--url")
        else:
            bare.append(value)
    if len(bare) > 1:
        raise typer.BadParameter("one bare URL at most; use NAME=URL", param_hint="--url")
    return named, bare[0] if bare else None


def _selected(services: list[str], bare_url: str | None, anchor: Path | None) -> list[str]:
    unknown = [s for s in services if s not in CHAINS]
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)}: one of {', '.join(CHAINS)}", param_hint="--service"
        )
    if services:
        selected = list(dict.fromkeys(services))
    elif bare_url is not None or anchor is not None:
        selected = [LEGACY_SERVICE]
    else:
        selected = list(CHAINS)
    if len(selected) > 1 and (bare_url is not None or anchor is not None):
        hint = "--url" if bare_url is not None else "--anchor"
        raise typer.BadParameter("applies to one --service only", param_hint=hint)
    return selected


async def verify_chain(name: str, url: str, anchor: Anchor | None = None) -> dict[str, Any]:
    """One service's verification, with its name; a chain that cannot be read is not intact."""
    database = Database(url)
    try:
        async with database.sessions() as session:
            result = await CHAINS[name].chain.verify(session, anchor)
    except (SQLAlchemyError, OSError) as error:
        reason = f"cannot read the chain: {type(error).__name__}: {str(error).splitlines()[0]}"
        result = Verification(False, 0, 0, None, reason)
    finally:
        await database.dispose()
    return {"service": name, **result.as_dict()}


def _database_url(name: str, named: dict[str, str], bare: str | None) -> str:
    """The database of `name`'s chain: the bare --url, its NAME=URL, else its own settings."""
    if bare is not None:
        return bare
    if name in named:
        return named[name]
    try:
        return CHAINS[name].settings().database_url_for(name)
    except ValidationError as error:  # e.g. production without its secrets
        message = f"{name}'s settings: {error.errors()[0]['msg']}; or pass {name}=URL"
        raise typer.BadParameter(message, param_hint="--url") from error


@audit_app.command("verify")
def verify_command(
    service: Annotated[
        list[str],
        typer.Option("--service", help=f"only this chain (repeatable): {', '.join(CHAINS)}"),
    ] = [],  # noqa: B006 - typer's list option default
    url: Annotated[
        list[str],
        typer.Option(
            help="NAME=URL: that service's database (repeatable; default: its settings); "
            "a bare URL is the one --service's (review's without --service)"
        ),
    ] = [],  # noqa: B006
    anchor: Annotated[
        Path | None,
        typer.Option(
            help="chain head kept outside (`kitchen audit head` output or an archive) of the "
            "one --service (review's without --service)"
        ),
    ] = None,
) -> None:
    """Walk the chains; exit 1 and name the service and first bad entry if any row was altered
    or removed (or a chain cannot be read).

    Without --service every service's chain is checked and the result is
    `{ok, services: {name: {ok, first_bad_seq, reason, …}}}`; with one service (or a bare
    --url) just that service's result. With --anchor, a history rewritten and re-hashed
    consistently is reported too.
    """
    named, bare = _split_urls(url)
    selected = _selected(service, bare, anchor)
    try:
        pinned = load_anchor(anchor) if anchor else None
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--anchor") from error

    urls = {name: _database_url(name, named, bare) for name in selected}

    async def run() -> list[dict[str, Any]]:
        return [await verify_chain(name, urls[name], pinned) for name in selected]

    results = asyncio.run(run())
    ok = all(r["ok"] for r in results)
    if len(selected) == 1:
        _print(results[0])
    else:
        _print({"ok": ok, "services": {r["service"]: r for r in results}})
    for r in results:
        if not r["ok"]:
            at = f" at entry {r['first_bad_seq']}" if r["first_bad_seq"] is not None else ""
            typer.echo(f"{r['service']}: chain broken{at}: {r['reason']}", err=True)
    if not ok:
        raise typer.Exit(1)


# review's anchors and archives
audit_app.command("head")(review_cli.head_command)
audit_app.command("export")(review_cli.export_command)
audit_app.command("verify-archive")(review_cli.verify_archive_command)
