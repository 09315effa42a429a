"""Content versions as the library announced or serves them: snapshots and the ingest fallback."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import ServiceUnavailable
from common.events import ContentIngested, utcnow
from common.identity import service_actor_headers
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
    "written_at",
)


def snapshot_from(content_id: str, version: int, fields: dict[str, Any]) -> ContentSnapshot:
    values = {name: fields[name] for name in SNAPSHOT_FIELDS if fields.get(name) is not None}
    values.setdefault("body_text", "")
    return ContentSnapshot(content_id=content_id, version=version, received_at=utcnow(), **values)


async def store_snapshot(session: AsyncSession, data: ContentIngested) -> ContentSnapshot:
    """Keep a version's text for rendering; a version seen before is left as it was."""
    existing = await session.get(ContentSnapshot, (data.content_id, data.version))
    if existing is not None:
        return existing
    snapshot = snapshot_from(data.content_id, data.version, data.model_dump())
    session.add(snapshot)
    await session.flush()
    return snapshot


class VersionFetcher:
    """Reads one version from ingest's API, for an approval that overtook its `content.ingested`.

    `transport` lets tests answer without a network (httpx.MockTransport).
    """

    def __init__(
        self,
        base_url: str,
        internal_secret: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.headers = service_actor_headers("distribute", internal_secret)
        self.timeout = timeout
        self.transport = transport

    async def fetch(self, content_id: str, version: int) -> dict[str, Any] | None:
        """The version's fields, None when ingest says it does not exist; raises when ingest
        cannot answer (the consumer retries the event)."""
        path = f"/api/v1/contents/{content_id}/versions/{version}"
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, transport=self.transport
        ) as client:
            try:
                response = await client.get(path, headers=self.headers)
            except httpx.HTTPError as error:
                raise ServiceUnavailable(f"ingest unreachable: {error!r}") from error
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ServiceUnavailable(f"ingest answered {response.status_code} for {path}")
        return dict(response.json())


async def load_snapshot(
    session: AsyncSession, fetcher: VersionFetcher, content_id: str, version: int
) -> ContentSnapshot | None:
    """The stored snapshot, else the version fetched from ingest (and stored); None if unknown."""
    snapshot = await session.get(ContentSnapshot, (content_id, version))
    if snapshot is not None:
        return snapshot
    fields = await fetcher.fetch(content_id, version)
    if fields is None:
        return None
    snapshot = snapshot_from(content_id, version, fields)
    try:
        async with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:  # stored meanwhile by a concurrent content.ingested
        return await session.get(ContentSnapshot, (content_id, version))
    return snapshot
