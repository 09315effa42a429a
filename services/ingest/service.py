"""Library operations; no HTTP or Kafka here — the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound
from common.events import ContentIngested, utcnow
from common.identity import Actor
from common.pagination import decode_cursor, page
from services.ingest.cleaning import content_hash, html_to_text, sanitize_html, text_to_html
from services.ingest.models import (
    OUTBOX,
    ContentItem,
    ContentTarget,
    ContentVersion,
    StatusChange,
)
from services.ingest.schemas import ContentSubmission


def new_content_id() -> str:
    return uuid.uuid4().hex


def material_fields(version: ContentVersion) -> dict[str, object]:
    return {
        "title": version.title,
        "body_html": version.body_html,
        "kind": version.kind,
        "site": version.site,
        "columns": version.columns,
        "publisher": version.publisher,
        "doc_number": version.doc_number,
    }


def build_version(
    content_id: str, number: int, submission: ContentSubmission, author: str
) -> ContentVersion:
    body_html = sanitize_html(submission.body_html or text_to_html(submission.body_text or ""))
    version = ContentVersion(
        content_id=content_id,
        version=number,
        title=submission.title,
        body_html=body_html,
        body_text=html_to_text(body_html),
        kind=submission.kind,
        site=submission.site,
        columns=list(submission.columns),
        publisher=submission.publisher,
        doc_number=submission.doc_number,
        content_hash="",
        author=author,
        created_at=utcnow(),
    )
    version.content_hash = content_hash(material_fields(version))
    return version


async def submit_content(
    session: AsyncSession, submission: ContentSubmission, actor: Actor
) -> ContentItem:
    """Store a new item (先入库) and announce `content.ingested` in the same transaction."""
    now = utcnow()
    item_id = new_content_id()
    version = build_version(item_id, 1, submission, actor.id)
    item = ContentItem(
        id=item_id,
        version=1,
        status="ingested",
        title=version.title,
        kind=version.kind,
        site=version.site,
        columns=version.columns,
        publisher=version.publisher,
        doc_number=version.doc_number,
        content_hash=version.content_hash,
        author=actor.id,
        urgent=submission.urgent,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    await session.flush()
    session.add(version)
    for column in version.columns:
        session.add(ContentTarget(content_id=item_id, site=version.site, column=column))
    session.add(StatusChange(content_id=item_id, version=1, status="ingested", at=now))
    await OUTBOX.add(session, ingested_event(item, version))
    return item


def ingested_event(item: ContentItem, version: ContentVersion) -> ContentIngested:
    return ContentIngested(
        content_id=item.id,
        version=version.version,
        content_hash=version.content_hash,
        title=version.title,
        body_html=version.body_html,
        body_text=version.body_text,
        kind=version.kind,
        site=version.site,
        columns=version.columns,
        publisher=version.publisher,
        doc_number=version.doc_number,
        author=version.author,
        urgent=item.urgent,
        submitted_at=version.created_at,
    )


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


async def status_history(session: AsyncSession, content_id: str) -> list[StatusChange]:
    query = (
        select(StatusChange).where(StatusChange.content_id == content_id).order_by(StatusChange.id)
    )
    return list((await session.execute(query)).scalars())


@dataclass
class ContentFilters:
    status: str | None = None
    site: str | None = None
    column: str | None = None
    kind: str | None = None
    publisher: str | None = None
    doc_number: str | None = None
    author: str | None = None


async def list_items(
    session: AsyncSession,
    filters: ContentFilters,
    cursor: str | None,
    limit: int,
    sites: list[str] | None,
) -> dict[str, object]:
    """Newest first by `updated_at`, keyset-paginated on (updated_at, id)."""
    query = select(ContentItem)
    for name in ("status", "site", "kind", "publisher", "doc_number", "author"):
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


async def record_status(
    session: AsyncSession, content_id: str, version: int, status: str, detail: str = ""
) -> None:
    """Apply a status learned from an event, unless it is about an older version."""
    item = await session.get(ContentItem, content_id)
    if item is None or version < item.version:
        return
    now = utcnow()
    item.status = status
    item.status_reason = detail or None
    item.updated_at = now
    if status == "approved":
        item.approved_version = version
    if status == "published":
        item.published_version = version
    session.add(item)
    session.add(
        StatusChange(content_id=content_id, version=version, status=status, detail=detail, at=now)
    )
