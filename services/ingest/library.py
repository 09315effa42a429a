"""Reading the library: items, their versions and raw inputs, lists, as staff may see them.

No HTTP or Kafka; every read that names one item checks the caller's site scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.errors import NotFound
from common.identity import Actor
from common.lookup import get_or_404
from common.pagination import decode_cursor, page
from services.ingest.models import (
    Blob,
    ContentItem,
    ContentTarget,
    ContentVersion,
    ItemSource,
    StatusChange,
)
from services.ingest.relations import relations_of
from services.ingest.schemas import (
    ContentPublic,
    ContentSummaryPublic,
    StatusEntryPublic,
    VersionSummaryPublic,
)


async def get_item(session: AsyncSession, content_id: str) -> ContentItem:
    return await get_or_404(
        session, ContentItem, content_id, detail=f"no content item {content_id}", field="id"
    )


async def item_in_scope(session: AsyncSession, content_id: str, actor: Actor) -> ContentItem:
    """The item, if it exists (404) and is on a site of the caller's (403)."""
    item = await get_item(session, content_id)
    actor.require_site(item.site)
    return item


async def get_version(session: AsyncSession, content_id: str, number: int) -> ContentVersion:
    query = select(ContentVersion).where(
        col(ContentVersion.content_id) == content_id, col(ContentVersion.version) == number
    )
    version = (await session.exec(query)).one_or_none()
    if version is None:
        raise NotFound(f"no version {number} of content item {content_id}", field="version")
    return version


async def list_versions(session: AsyncSession, content_id: str) -> list[ContentVersion]:
    query = (
        select(ContentVersion)
        .where(col(ContentVersion.content_id) == content_id)
        .order_by(col(ContentVersion.version))
    )
    return list(await session.exec(query))


async def status_history(session: AsyncSession, content_id: str) -> list[StatusChange]:
    query = (
        select(StatusChange)
        .where(col(StatusChange.content_id) == content_id)
        .order_by(col(StatusChange.id))
    )
    return list(await session.exec(query))


async def sources_of(session: AsyncSession, content_id: str) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(ItemSource)
        .where(col(ItemSource.content_id) == content_id)
        .order_by(col(ItemSource.id))
    )
    return [
        {
            "channel": s.channel,
            "name": s.name,
            "url": s.url,
            "external_id": s.external_id,
            "actor": s.actor,
            "outcome": s.outcome,
            "similarity": s.similarity,
            "raw_sha256": s.raw_sha256,
            "received_at": s.received_at,
        }
        for s in rows
    ]


def summary_of(item: ContentItem) -> dict[str, Any]:
    return ContentSummaryPublic.model_validate(item, from_attributes=True).model_dump(mode="json")


async def item_out(session: AsyncSession, item: ContentItem) -> dict[str, Any]:
    """The full JSON of an item: current version, sources, relations, cleaning, history."""
    version = await get_version(session, item.id, item.version)
    history = await status_history(session, item.id)
    out = ContentPublic(
        **{k: getattr(item, k) for k in ContentPublic.model_fields if hasattr(item, k)},
        body_html=version.body_html,
        body_text=version.body_text,
        sources=await sources_of(session, item.id),
        relations=await relations_of(session, item),
        cleaning=version.cleaning,
        attachments=version.attachments,
        history=[StatusEntryPublic.model_validate(h, from_attributes=True) for h in history],
    )
    return out.model_dump(mode="json")


async def content(session: AsyncSession, content_id: str, actor: Actor) -> dict[str, Any]:
    """One item as JSON (`item_out`), if the caller's scope covers its site."""
    return await item_out(session, await item_in_scope(session, content_id, actor))


async def version_history(
    session: AsyncSession, content_id: str, actor: Actor
) -> dict[str, list[dict[str, Any]]]:
    """`{items: [...]}`: every version with its author, hash and diff against the one before."""
    await item_in_scope(session, content_id, actor)
    versions = await list_versions(session, content_id)
    fields = VersionSummaryPublic.model_fields
    return {"items": [{f: getattr(v, f) for f in fields} for v in versions]}


async def version_of(
    session: AsyncSession, content_id: str, number: int, actor: Actor
) -> dict[str, Any]:
    """One immutable version as stored, with the item's current schedule and the original it
    reprints, if any (`ContentVersionPublic`)."""
    item = await item_in_scope(session, content_id, actor)
    row = await get_version(session, content_id, number)
    # the item's schedule comes along: a distributor that reads the version here (its event
    # is late) must not send it out before its moment
    moments = {name: getattr(item, name) for name in ("publish_at", "embargo_until", "expire_at")}
    schedule: dict[str, Any] = {k: as_utc(v).isoformat() if v else None for k, v in moments.items()}
    schedule["revision"] = item.schedule_revision
    # and what it reprints: its publication fulfils a reprint obligation, not a rule of its own
    reprint_of = (await relations_of(session, item)).reprint_of
    return {**row.model_dump(mode="json"), "schedule": schedule, "reprint_of": reprint_of}


async def raw_input(session: AsyncSession, content_id: str, number: int, actor: Actor) -> Blob:
    """The bytes of a version's input exactly as received."""
    await item_in_scope(session, content_id, actor)
    row = await get_version(session, content_id, number)
    return await get_blob(session, row.raw_sha256)


async def get_blob(session: AsyncSession, sha256: str | None) -> Blob:
    blob = await session.get(Blob, sha256) if sha256 else None
    if blob is None:
        raise NotFound("no stored bytes", field="sha256")
    return blob


@dataclass
class ContentFilters:
    status: str | None = None
    site: str | None = None
    column: str | None = None
    kind: str | None = None
    publisher: str | None = None
    doc_number: str | None = None
    author: str | None = None
    topic: str | None = None


async def list_items(
    session: AsyncSession,
    filters: ContentFilters,
    cursor: str | None,
    limit: int,
    sites: list[str] | None,
) -> dict[str, Any]:
    """`{items: [summary…], next_cursor}`, newest first by `updated_at`, keyset-paginated on
    (updated_at, id)."""
    query = select(ContentItem)
    for name in ("status", "site", "kind", "publisher", "doc_number", "author", "topic"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(ContentItem, name) == value)
    if filters.column is not None:
        query = query.where(
            col(ContentItem.id).in_(
                select(ContentTarget.content_id).where(col(ContentTarget.column) == filters.column)
            )
        )
    if sites is not None:
        query = query.where(col(ContentItem.site).in_(sites))
    position = decode_cursor(cursor)
    if position:
        at, last_id = datetime.fromisoformat(position[0]), position[1]
        query = query.where(
            or_(
                col(ContentItem.updated_at) < at,
                (col(ContentItem.updated_at) == at) & (col(ContentItem.id) < last_id),
            )
        )
    query = query.order_by(col(ContentItem.updated_at).desc(), col(ContentItem.id).desc())
    rows = list(await session.exec(query.limit(limit + 1)))
    result = page(rows, limit, lambda r: [r.updated_at.isoformat(), r.id])
    result["items"] = [summary_of(item) for item in result["items"]]
    return result
