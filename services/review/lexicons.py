"""Lexicon administration (versions, uploads) and the per-process matcher cache."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, NotFound, Unprocessable
from common.events import utcnow
from services.review import audit
from services.review.checks.lexicon import (
    Entry,
    LexiconData,
    LexiconSyntaxError,
    Matcher,
    parse_entries,
)
from services.review.models import Lexicon, LexiconVersion


def parse_upload(kind: str, text: str) -> list[Entry]:
    """Parse or refuse with 422 naming every bad line (`field` = `line N`)."""
    try:
        return parse_entries(kind, text)
    except LexiconSyntaxError as error:
        errors = [{"field": f"line {n}", "reason": reason} for n, reason in error.problems]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise Unprocessable(f"malformed lexicon upload: {detail}", errors=errors) from error


async def get_lexicon(session: AsyncSession, name: str) -> Lexicon:
    lexicon = await session.get(Lexicon, name)
    if lexicon is None:
        raise NotFound(f"no lexicon {name}", field="name")
    return lexicon


async def get_version(session: AsyncSession, name: str, version: int) -> LexiconVersion:
    query = select(LexiconVersion).where(
        LexiconVersion.name == name, LexiconVersion.version == version
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no version {version} of lexicon {name}", field="version")
    return row


async def list_lexicons(
    session: AsyncSession, kinds: tuple[str, ...] | None = None
) -> list[Lexicon]:
    query = select(Lexicon).order_by(Lexicon.name)
    if kinds:
        query = query.where(Lexicon.kind.in_(kinds))
    return list((await session.execute(query)).scalars())


async def create_lexicon(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    category: str,
    severity: str,
    description: str,
    entries: list[Entry],
    actor: str,
) -> Lexicon:
    if await session.get(Lexicon, name) is not None:
        raise Conflict(f"lexicon {name} exists; upload a new version instead", field="name")
    lexicon = Lexicon(
        name=name,
        kind=kind,
        category=category,
        severity=severity,
        description=description,
        version=1,
        updated_at=utcnow(),
    )
    session.add(lexicon)
    await session.flush()
    await _store_version(session, lexicon, entries, actor)
    return lexicon


async def upload_version(
    session: AsyncSession, name: str, entries: list[Entry], actor: str
) -> Lexicon:
    """A new current version; matchers pick it up on their next check (no restart)."""
    lexicon = await get_lexicon(session, name)
    lexicon.version += 1
    lexicon.updated_at = utcnow()
    session.add(lexicon)
    await _store_version(session, lexicon, entries, actor)
    return lexicon


async def set_active(session: AsyncSession, name: str, active: bool, actor: str) -> Lexicon:
    lexicon = await get_lexicon(session, name)
    lexicon.active, lexicon.updated_at = active, utcnow()
    session.add(lexicon)
    await audit.append(
        session,
        actor,
        "lexicon.activated" if active else "lexicon.deactivated",
        f"lexicon:{name}",
        {"version": lexicon.version},
    )
    return lexicon


async def _store_version(
    session: AsyncSession, lexicon: Lexicon, entries: list[Entry], actor: str
) -> None:
    rows = [{k: v for k, v in asdict(e).items() if v is not None} for e in entries]
    session.add(
        LexiconVersion(
            name=lexicon.name,
            version=lexicon.version,
            entries=rows,
            created_by=actor,
            created_at=utcnow(),
        )
    )
    await audit.append(
        session,
        actor,
        "lexicon.uploaded",
        f"lexicon:{lexicon.name}",
        {"version": lexicon.version, "kind": lexicon.kind, "entries": len(rows)},
    )


class MatcherCache:
    """The automaton of the active lexicon versions, rebuilt only when a version changes.

    Each check asks the database for the active (name, version) pairs — one small query — and
    reuses the automaton when they are unchanged; building it is the expensive part.
    """

    def __init__(self) -> None:
        self._matcher = Matcher([])
        self._lock = asyncio.Lock()
        self.builds = 0

    async def current(self, session: AsyncSession) -> Matcher:
        query = select(Lexicon.name, Lexicon.version).where(Lexicon.active).order_by(Lexicon.name)
        key = tuple((n, v) for n, v in (await session.execute(query)).all())
        if key == self._matcher.key:
            return self._matcher
        async with self._lock:
            if key != self._matcher.key:
                self._matcher = Matcher(await _load(session))
                self.builds += 1
        return self._matcher


async def _load(session: AsyncSession) -> list[LexiconData]:
    query = (
        select(Lexicon, LexiconVersion)
        .join(
            LexiconVersion,
            (LexiconVersion.name == Lexicon.name) & (LexiconVersion.version == Lexicon.version),
        )
        .where(Lexicon.active)
        .order_by(Lexicon.name)
    )
    return [
        LexiconData(
            lex.name,
            lex.version,
            lex.kind,
            lex.category,
            lex.severity,  # type: ignore[arg-type]
            tuple(Entry(**e) for e in ver.entries),
        )
        for lex, ver in (await session.execute(query)).all()
    ]
