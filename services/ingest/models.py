"""The library's tables: items, immutable versions, sources, relations, search rows, blobs.

Intake bookkeeping (webhooks, idempotency, crawl sources and runs) lives in `models_intake.py`
on the same metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.audit_chain import AuditEntryFields, AuditHeadFields
from common.columns import timestamp_field
from common.db import new_metadata
from common.messaging import BigIntId, Outbox, messaging_tables

metadata = new_metadata()
tables = messaging_tables(metadata)
OUTBOX = Outbox(tables, source="/kitchen/ingest")


class IngestTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the ingest service's tables (its own metadata, its own database)."""


def json_list() -> Any:
    """A JSON column holding a list, empty by default."""
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ContentItem(IngestTable, table=True):
    """An item of the library: the current version's metadata; text lives in versions."""

    __tablename__ = "content_item"

    id: str = Field(primary_key=True, max_length=40)
    version: int
    status: str = Field(index=True, max_length=20)
    title: str
    kind: str = Field(index=True, max_length=30)
    site: str = Field(index=True, max_length=60)
    columns: list[str] = json_list()
    publisher: str = Field(index=True)
    doc_number: str | None = Field(default=None, index=True)
    content_hash: str = Field(max_length=64)
    author: str = Field(max_length=100)
    urgent: bool = False
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(index=True)
    approved_version: int | None = None
    published_version: int | None = None
    # a retraction (撤稿) covers every version up to this one: none of them is shown or
    # published again, whatever event arrives late
    retracted_version: int | None = None
    status_reason: str | None = None
    written_at: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    published_at: datetime | None = timestamp_field(nullable=True)
    index_no: str | None = Field(default=None, unique=True, max_length=80)
    topic: str = Field(default="其他", index=True, max_length=40)
    keywords: list[str] = json_list()
    summary: str = ""
    script: str = Field(default="simplified", max_length=20)
    disclosure: str = Field(default="主动公开", max_length=20)
    validity: str = Field(default="effective", max_length=20)
    is_reprint: bool = False
    quarantine: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    exact_key: str = Field(default="", index=True, max_length=64)
    simhash: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    band0: int = Field(default=0, index=True)
    band1: int = Field(default=0, index=True)
    band2: int = Field(default=0, index=True)
    band3: int = Field(default=0, index=True)
    # 定时发布 / embargo / 到期下线, the item's and not a version's: moving one bumps
    # `schedule_revision`, which distribute compares so a late event never undoes a newer one
    publish_at: datetime | None = timestamp_field(nullable=True)
    embargo_until: datetime | None = timestamp_field(nullable=True)
    expire_at: datetime | None = timestamp_field(nullable=True, index=True)
    schedule_revision: int = 0


class ContentVersion(IngestTable, table=True):
    """One immutable version of an item; an edit is a new row, never an update."""

    __tablename__ = "content_version"
    __table_args__ = (UniqueConstraint("content_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(foreign_key="content_item.id", index=True, max_length=40)
    version: int
    title: str
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    kind: str
    site: str
    columns: list[str] = json_list()
    publisher: str
    doc_number: str | None = None
    content_hash: str = Field(max_length=64, index=True)
    author: str
    created_at: datetime = timestamp_field()
    raw_sha256: str | None = Field(default=None, max_length=64)
    cleaning: list[dict[str, Any]] = json_list()
    diff: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    written_at: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    summary: str = ""
    keywords: list[str] = json_list()
    topic: str = "其他"
    script: str = "simplified"
    attachments: list[dict[str, Any]] = json_list()
    # new-media accounts (distribute's `channel_account` ids) the submission named, besides its
    # columns' default accounts
    accounts: list[str] = json_list()
    # fan-out selectors over distribute's site tree (`common.events.FanoutSelector` as JSON)
    fanout: list[dict[str, Any]] = json_list()


class StatusChange(IngestTable, table=True):
    """The item's status history as learned from the other services' events."""

    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(index=True, max_length=40)
    version: int
    status: str
    detail: str = ""
    at: datetime = timestamp_field()


class ContentTarget(IngestTable, table=True):
    """One (site, column) an item is aimed at; lets lists filter by column with an index."""

    __tablename__ = "content_target"

    content_id: str = Field(foreign_key="content_item.id", primary_key=True, max_length=40)
    site: str = Field(primary_key=True, max_length=60)
    column: str = Field(primary_key=True, max_length=60, index=True)


class ItemSource(IngestTable, table=True):
    """Every way an item came in: channel (rest, webhook, crawl, feed, import, event, reprint)."""

    __tablename__ = "item_source"

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(foreign_key="content_item.id", index=True, max_length=40)
    channel: str = Field(max_length=20)
    name: str = Field(default="", max_length=200)
    url: str | None = None
    external_id: str | None = Field(default=None, index=True, max_length=300)
    raw_sha256: str | None = Field(default=None, max_length=64)
    actor: str = Field(default="", max_length=100)
    outcome: str = Field(default="created", max_length=20)
    similarity: float | None = None
    received_at: datetime = timestamp_field()


class Relation(IngestTable, table=True):
    """A typed link from an item: cites / interprets / reprint_of / duplicate_of / repeals / amends.

    A citation by 文号 keeps the 文号 and resolves to an item when one carries it.
    """

    __tablename__ = "relation"

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(foreign_key="content_item.id", index=True, max_length=40)
    kind: str = Field(max_length=20, index=True)
    target_id: str | None = Field(default=None, index=True, max_length=40)
    target_doc_number: str | None = Field(default=None, index=True)
    # A 解读 names its policy by title; kept (folded) so a policy arriving later links up.
    target_title: str | None = Field(default=None, index=True, max_length=300)


class Blob(IngestTable, table=True):
    """Content-addressed bytes: raw inputs exactly as received, and attachments."""

    __tablename__ = "blob"

    sha256: str = Field(primary_key=True, max_length=64)
    media_type: str = Field(max_length=120)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = timestamp_field()


class IndexCounter(IngestTable, table=True):
    """The next 索引号 serial per publisher and year; only ever increases, never reused."""

    __tablename__ = "index_counter"

    publisher: str = Field(primary_key=True, max_length=200)
    year: int = Field(primary_key=True)
    next_serial: int = 1


class SearchDoc(IngestTable, table=True):
    """The search row of an item (integer id = FTS5 rowid; PostgreSQL adds a tsvector column)."""

    __tablename__ = "search_doc"

    id: int | None = Field(default=None, sa_column=Column(BigIntId, primary_key=True))
    content_id: str = Field(foreign_key="content_item.id", unique=True, max_length=40)
    doc_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True, index=True))
    folded_title: str = ""


class PublishedSearchDoc(IngestTable, table=True):
    """The public search row of an item: the text of its last *published* version.

    Written when `content.published` arrives, untouched by later edits, so public search keeps
    finding what the portal shows until the next version is published. Same shape as
    `SearchDoc` (integer id = rowid of the FTS5 table `published_fts`; PostgreSQL adds `tsv`).
    """

    __tablename__ = "published_search_doc"

    id: int | None = Field(default=None, sa_column=Column(BigIntId, primary_key=True))
    content_id: str = Field(foreign_key="content_item.id", unique=True, max_length=40)
    version: int
    doc_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True, index=True))
    folded_title: str = ""


class ContentAttachment(IngestTable, table=True):
    """An attachment of one version (the bytes are a `Blob`, shared by every version using them)."""

    __tablename__ = "content_attachment"

    content_id: str = Field(foreign_key="content_item.id", primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    sha256: str = Field(primary_key=True, max_length=64, index=True)
    filename: str = Field(max_length=300)


# --- the audit chain (common.audit_chain) ----------------------------------------------------


class AuditEntry(IngestTable, AuditEntryFields, table=True):
    """One link of ingest's audit chain (staff acts); never updated or deleted."""

    __tablename__ = "audit_entry"


class AuditHead(IngestTable, AuditHeadFields, table=True):
    """Ingest's chain newest (seq, hash); locked by every append."""

    __tablename__ = "audit_head"
