"""Content versions as the library announced or serves them: snapshots and the ingest fallback."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import insert_unless_present
from common.events import ContentIngested, utcnow
from services.distribute import schedules
from services.distribute.models import ContentSnapshot

SNAPSHOT_FIELDS = (
    "content_hash",
    "title",
    "body_html",
    "body_text",
    "kind",
    "site",
    "columns",
    "publisher",
    "doc_number",
    "author",
    "summary",
    "index_no",
    "is_reprint",
    "reprint_of",
    "written_at",
    "published_at",
    "accounts",
    "fanout",
)


def snapshot_from(content_id: str, version: int, fields: dict[str, Any]) -> ContentSnapshot:
    values = {name: fields[name] for name in SNAPSHOT_FIELDS if fields.get(name) is not None}
    values.setdefault("body_text", "")
    return ContentSnapshot(content_id=content_id, version=version, received_at=utcnow(), **values)


async def store_snapshot(session: AsyncSession, data: ContentIngested) -> ContentSnapshot:
    """Keep a version's text for rendering; a version seen before is left as it was, but for
    `reprint_of`, which a version fetched from ingest's API did not carry.

    A new version is written with one `INSERT … ON CONFLICT DO NOTHING` (every submission
    brings one) and returned outside the session; a version stored first by a concurrent
    writer is treated as seen before."""
    snapshot = snapshot_from(data.content_id, data.version, data.model_dump())
    if await insert_unless_present(session, snapshot):
        return snapshot
    existing = await session.get(ContentSnapshot, (data.content_id, data.version))
    assert existing is not None  # the conflict was on this key
    if existing.reprint_of is None and data.reprint_of:
        existing.reprint_of = data.reprint_of
        session.add(existing)
    return existing


class VersionSource(Protocol):
    """Where a version comes from when its `content.ingested` has not arrived (ingest's API,
    `services.distribute.clients.ingest.VersionFetcher`)."""

    async def fetch(self, content_id: str, version: int) -> dict[str, Any] | None:
        """The version's fields, None if unknown; raises `ServiceUnavailable` if unreachable."""
        ...


async def load_snapshot(
    session: AsyncSession, fetcher: VersionSource, content_id: str, version: int
) -> ContentSnapshot | None:
    """The stored snapshot, else the version fetched from ingest (and stored); None if unknown."""
    snapshot = await session.get(ContentSnapshot, (content_id, version))
    if snapshot is not None:
        return snapshot
    fields = await fetcher.fetch(content_id, version)
    if fields is None:
        return None
    await schedules.remember_fetched(session, content_id, fields)  # before anything goes out
    snapshot = snapshot_from(content_id, version, fields)
    try:
        async with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:  # stored meanwhile by a concurrent content.ingested
        return await session.get(ContentSnapshot, (content_id, version))
    return snapshot
