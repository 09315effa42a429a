"""Library reads and state changes besides ingest itself; no HTTP or Kafka, the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, NotFound, Unprocessable
from common.events import utcnow
from common.pagination import decode_cursor, page
from services.ingest import audit
from services.ingest.models import (
    Blob,
    ContentItem,
    ContentTarget,
    ContentVersion,
    ItemSource,
    Relation,
    StatusChange,
)
from services.ingest.pipeline import announce, index_published
from services.ingest.schemas import ContentOut, ContentSummary, Relations, StatusEntry


async def get_item(session: AsyncSession, content_id: str) -> ContentItem:
    item = await session.get(ContentItem, content_id)
    if item is None:
        raise NotFound(f"no content item {content_id}", field="id")
    return item


async def get_version(session: AsyncSession, content_id: str, number: int) -> ContentVersion:
    query = select(ContentVersion).where(
        ContentVersion.content_id == content_id, ContentVersion.version == number
    )
    version = (await session.execute(query)).scalar_one_or_none()
    if version is None:
        raise NotFound(f"no version {number} of content item {content_id}", field="version")
    return version


async def list_versions(session: AsyncSession, content_id: str) -> list[ContentVersion]:
    query = (
        select(ContentVersion)
        .where(ContentVersion.content_id == content_id)
        .order_by(ContentVersion.version)
    )
    return list((await session.execute(query)).scalars())


async def status_history(session: AsyncSession, content_id: str) -> list[StatusChange]:
    query = (
        select(StatusChange).where(StatusChange.content_id == content_id).order_by(StatusChange.id)
    )
    return list((await session.execute(query)).scalars())


async def sources_of(session: AsyncSession, content_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ItemSource).where(ItemSource.content_id == content_id).order_by(ItemSource.id)
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
        for s in rows.scalars()
    ]


async def _items_by_doc_number(session: AsyncSession, numbers: list[str]) -> dict[str, str]:
    if not numbers:
        return {}
    rows = await session.execute(
        select(ContentItem.doc_number, ContentItem.id)
        .where(ContentItem.doc_number.in_(numbers))
        .order_by(ContentItem.created_at)
    )
    found: dict[str, str] = {}
    for number, item_id in rows.all():
        found.setdefault(number, item_id)
    return found


async def relations_of(session: AsyncSession, item: ContentItem) -> Relations:
    """Outgoing links resolved by 文号 where possible, and incoming links (both ways)."""
    outgoing = list(
        (await session.execute(select(Relation).where(Relation.content_id == item.id))).scalars()
    )
    numbers = [r.target_doc_number for r in outgoing if r.target_doc_number]
    resolved = await _items_by_doc_number(session, numbers)
    out = Relations()
    for rel in outgoing:
        target = rel.target_id or resolved.get(rel.target_doc_number or "")
        entry = {"doc_number": rel.target_doc_number, "id": target}
        if rel.kind in ("cites", "interprets", "repeals", "amends"):
            getattr(out, rel.kind).append(entry)
        elif rel.kind in ("reprint_of", "duplicate_of"):
            setattr(out, rel.kind, target)
    incoming_query = select(Relation.content_id, Relation.kind).where(
        or_(
            Relation.target_id == item.id,
            (Relation.target_doc_number == item.doc_number) & (Relation.target_id.is_(None))
            if item.doc_number
            else False,
        )
    )
    for source_id, kind in (await session.execute(incoming_query)).all():
        bucket = {
            "interprets": out.interpreted_by,
            "cites": out.cited_by,
            "reprint_of": out.reprinted_by,
        }.get(kind)
        if bucket is not None and source_id not in bucket:
            bucket.append(source_id)
    return out


def summary_of(item: ContentItem) -> dict[str, Any]:
    return ContentSummary.model_validate(item, from_attributes=True).model_dump(mode="json")


async def item_out(session: AsyncSession, item: ContentItem) -> dict[str, Any]:
    """The full JSON of an item: current version, sources, relations, cleaning, history."""
    version = await get_version(session, item.id, item.version)
    history = await status_history(session, item.id)
    out = ContentOut(
        **{k: getattr(item, k) for k in ContentOut.model_fields if hasattr(item, k)},
        body_html=version.body_html,
        body_text=version.body_text,
        sources=await sources_of(session, item.id),
        relations=await relations_of(session, item),
        cleaning=version.cleaning,
        attachments=version.attachments,
        history=[StatusEntry.model_validate(h, from_attributes=True) for h in history],
    )
    return out.model_dump(mode="json")


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
) -> dict[str, object]:
    """Newest first by `updated_at`, keyset-paginated on (updated_at, id)."""
    query = select(ContentItem)
    for name in ("status", "site", "kind", "publisher", "doc_number", "author", "topic"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(ContentItem, name) == value)
    if filters.column is not None:
        query = query.where(
            ContentItem.id.in_(
                select(ContentTarget.content_id).where(ContentTarget.column == filters.column)
            )
        )
    if sites is not None:
        query = query.where(ContentItem.site.in_(sites))
    position = decode_cursor(cursor)
    if position:
        at, last_id = datetime.fromisoformat(position[0]), position[1]
        query = query.where(
            or_(
                ContentItem.updated_at < at,
                (ContentItem.updated_at == at) & (ContentItem.id < last_id),
            )
        )
    query = query.order_by(ContentItem.updated_at.desc(), ContentItem.id.desc())
    rows = list((await session.execute(query.limit(limit + 1))).scalars())
    return page(rows, limit, lambda r: [r.updated_at.isoformat(), r.id])


# How far one version has come. Events from review and distribute travel on different topics
# and may arrive in any order (after a broker starts over they come again, interleaved), so a
# version's status only moves forward: a late `review.started` never undoes `approved`.
STATUS_STAGE = {"ingested": 0, "in_review": 1, "approved": 2, "rejected": 2, "returned": 2}
PUBLISHED_STAGE = 3


def status_stage(status: str) -> int:
    return STATUS_STAGE.get(status, PUBLISHED_STAGE if status == "published" else 0)


async def record_status(
    session: AsyncSession, content_id: str, version: int, status: str, detail: str = ""
) -> None:
    """Apply a status learned from an event, unless it is about an older version or is one the
    version has already passed.

    `published` also points the public search row at that version — even an older one (its
    event arrived after a later edit): the portal shows it, so public search must find it."""
    item = await session.get(ContentItem, content_id)
    if item is None:
        return
    if version == item.version and status_stage(status) < status_stage(item.status):
        if status == "approved":
            item.approved_version = version
            session.add(item)
        return
    if version < item.version:
        if status == "published" and version > (item.published_version or 0):
            item.published_version = version
            item.published_at = item.published_at or utcnow()
            session.add(item)
            session.add(
                StatusChange(
                    content_id=content_id, version=version, status=status, detail=detail,
                    at=utcnow(),
                )
            )  # fmt: skip
            await index_published(session, item, version)
        return
    now = utcnow()
    item.status = status
    item.status_reason = detail or None
    item.updated_at = now
    if status == "approved":
        item.approved_version = version
    if status == "published":
        item.published_version = version
        item.published_at = item.published_at or now
    session.add(item)
    session.add(
        StatusChange(content_id=content_id, version=version, status=status, detail=detail, at=now)
    )
    if status == "published":
        await index_published(session, item, version)


async def release(session: AsyncSession, item: ContentItem, editor: str, note: str) -> None:
    """An editor releases a quarantined item to review: it is announced now, not before."""
    if item.status != "quarantined":
        raise Conflict(f"item is {item.status}, not quarantined", field="status")
    flagged = item.status_reason
    now = utcnow()
    item.status, item.status_reason, item.updated_at = "ingested", None, now
    session.add(item)
    detail = f"released by {editor}: {note}".strip()
    session.add(
        StatusChange(
            content_id=item.id, version=item.version, status="ingested", detail=detail, at=now
        )
    )
    await announce(session, item, await get_version(session, item.id, item.version))
    record = {"version": item.version, "note": note, "quarantined_for": flagged}
    await audit.record(session, editor, "quarantine.released", item.id, record)


async def link(session: AsyncSession, item: ContentItem, kind: str, target_id: str) -> None:
    """An editor links a 解读 to its policy (or a reprint to its original) by hand."""
    if target_id == item.id:
        raise Unprocessable("an item cannot link to itself", field="target_id")
    await get_item(session, target_id)
    session.add(Relation(content_id=item.id, kind=kind, target_id=target_id))
    if kind == "reprint_of":
        item.is_reprint = True
        session.add(item)


async def get_blob(session: AsyncSession, sha256: str | None) -> Blob:
    blob = await session.get(Blob, sha256) if sha256 else None
    if blob is None:
        raise NotFound("no stored bytes", field="sha256")
    return blob
