"""Lexicon administration (versions, uploads) and the per-process matcher cache."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any, cast

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, NotFound, Unprocessable
from common.events import utcnow
from common.lookup import get_or_404
from services.review import audit
from services.review.checks.lexicon import (
    DEFAULT_SEVERITY,
    PAIR_KINDS,
    Entry,
    LexiconData,
    LexiconSyntaxError,
    Matcher,
    parse_entries,
)
from services.review.checks.types import Severity
from services.review.models import Lexicon, LexiconVersion
from services.review.schemas import LexiconIn, lexicon_out


def parse_upload(kind: str, text: str) -> list[Entry]:
    """Parse or refuse with 422 naming every bad line (`field` = `line N`)."""
    try:
        return parse_entries(kind, text)
    except LexiconSyntaxError as error:
        errors = [{"field": f"line {n}", "reason": reason} for n, reason in error.problems]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise Unprocessable(f"malformed lexicon upload: {detail}", errors=errors) from error


async def get_lexicon(session: AsyncSession, name: str) -> Lexicon:
    return await get_or_404(session, Lexicon, name, detail=f"no lexicon {name}", field="name")


async def get_version(session: AsyncSession, name: str, version: int) -> LexiconVersion:
    query = select(LexiconVersion).where(
        col(LexiconVersion.name) == name, col(LexiconVersion.version) == version
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound(f"no version {version} of lexicon {name}", field="version")
    return row


async def list_lexicons(
    session: AsyncSession, kinds: tuple[str, ...] | None = None
) -> list[Lexicon]:
    query = select(Lexicon).order_by(col(Lexicon.name))
    if kinds:
        query = query.where(col(Lexicon.kind).in_(kinds))
    return list((await session.exec(query)).all())


# --- what the admin API answers ------------------------------------------------------------


async def lexicon_page(session: AsyncSession) -> dict[str, Any]:
    """Every lexicon with its current version, as one page."""
    return {"items": [lexicon_out(x) for x in await list_lexicons(session)], "next_cursor": None}


async def lexicon_with_entries(session: AsyncSession, name: str) -> dict[str, Any]:
    """A lexicon with the entries of its current version."""
    lexicon = await get_lexicon(session, name)
    version = await get_version(session, name, lexicon.version)
    return {**lexicon_out(lexicon), "entries": version.entries}


async def version_view(session: AsyncSession, name: str, version: int) -> dict[str, Any]:
    """One immutable version of a lexicon."""
    row = await get_version(session, name, version)
    return {
        "name": row.name,
        "version": row.version,
        "entries": row.entries,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


async def wording_page(session: AsyncSession) -> dict[str, Any]:
    """Wording-error (block) and typo (warn) lists with their wrong → right pairs."""
    items = []
    for lexicon in await list_lexicons(session, PAIR_KINDS):
        version = await get_version(session, lexicon.name, lexicon.version)
        items.append({**lexicon_out(lexicon), "entries": version.entries})
    return {"items": items, "next_cursor": None}


async def create_from_upload(session: AsyncSession, body: LexiconIn, actor: str) -> dict[str, Any]:
    """Create a lexicon and its version 1 from `body.text` (one entry per line)."""
    entries = parse_upload(body.kind, body.text)
    lexicon = await create_lexicon(
        session,
        name=body.name,
        kind=body.kind,
        category=body.category,
        severity=body.severity or DEFAULT_SEVERITY[body.kind],
        description=body.description,
        entries=entries,
        actor=actor,
    )
    return {**lexicon_out(lexicon), "entries": len(entries)}


def decode_upload(raw: bytes, content_type: str) -> str:
    """An upload's text: UTF-8, sent as text (one entry per line), not as JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unprocessable("the upload must be UTF-8 text", field="body") from error
    if content_type.startswith("application/json"):
        raise Unprocessable("send the lexicon as text/plain, one entry per line", field="body")
    return text


async def upload_text_version(
    session: AsyncSession, name: str, raw: bytes, content_type: str, actor: str
) -> dict[str, Any]:
    """A new current version from an uploaded body (one entry per line, parsed for its kind)."""
    lexicon = await get_lexicon(session, name)
    entries = parse_upload(lexicon.kind, decode_upload(raw, content_type))
    lexicon = await upload_version(session, name, entries, actor)
    return {**lexicon_out(lexicon), "entries": len(entries)}


async def switch(session: AsyncSession, name: str, active: bool, actor: str) -> dict[str, Any]:
    """Switch a lexicon on or off (its versions are kept)."""
    return lexicon_out(await set_active(session, name, active, actor))


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
        query = (
            select(Lexicon.name, Lexicon.version)
            .where(col(Lexicon.active))
            .order_by(col(Lexicon.name))
        )
        key = tuple((n, v) for n, v in (await session.exec(query)).all())
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
            (col(LexiconVersion.name) == col(Lexicon.name))
            & (col(LexiconVersion.version) == col(Lexicon.version)),
        )
        .where(col(Lexicon.active))
        .order_by(col(Lexicon.name))
    )
    return [
        LexiconData(
            lex.name,
            lex.version,
            lex.kind,
            lex.category,
            cast(Severity, lex.severity),  # the API stores only block / warn / info
            tuple(Entry(**e) for e in ver.entries),
        )
        for lex, ver in (await session.exec(query)).all()
    ]
