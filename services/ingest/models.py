"""The library's tables: items, their immutable versions, and the outbox/inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import new_metadata
from common.messaging import Outbox, messaging_tables

metadata = new_metadata()
tables = messaging_tables(metadata)
OUTBOX = Outbox(tables.outbox, source="/kitchen/ingest")


class IngestTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the ingest service's tables (its own metadata, its own database)."""


class ContentItem(IngestTable, table=True):
    """An item of the library; its text lives in `ContentVersion` rows."""

    __tablename__ = "content_item"

    id: str = Field(primary_key=True, max_length=40)
    version: int
    status: str = Field(index=True, max_length=20)
    title: str
    kind: str = Field(index=True, max_length=30)
    site: str = Field(index=True, max_length=60)
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    publisher: str = Field(index=True)
    doc_number: str | None = Field(default=None, index=True)
    content_hash: str = Field(max_length=64)
    author: str = Field(max_length=100)
    urgent: bool = False
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    approved_version: int | None = None
    published_version: int | None = None
    status_reason: str | None = None


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
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    publisher: str
    doc_number: str | None = None
    content_hash: str = Field(max_length=64, index=True)
    author: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StatusChange(IngestTable, table=True):
    """The item's status history as learned from the other services' events."""

    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(index=True, max_length=40)
    version: int
    status: str
    detail: str = ""
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ContentTarget(IngestTable, table=True):
    """One (site, column) an item is aimed at; lets lists filter by column with an index."""

    __tablename__ = "content_target"

    content_id: str = Field(foreign_key="content_item.id", primary_key=True, max_length=40)
    site: str = Field(primary_key=True, max_length=60)
    column: str = Field(primary_key=True, max_length=60, index=True)
