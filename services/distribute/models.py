"""Distribute's tables: the site tree, content snapshots, releases, deliveries, the materialised
public output (column entries, articles, change feed) and webhook endpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.audit_chain import AuditEntryFields, AuditHeadFields
from common.columns import timestamp_field
from common.db import new_metadata
from common.idempotency import idempotency_table
from common.messaging import BigIntId, Outbox, messaging_tables

metadata = new_metadata()
tables = messaging_tables(metadata)
OUTBOX = Outbox(tables.outbox, source="/kitchen/distribute")
# `Idempotency-Key` answers of webhook endpoint registrations (common.idempotency)
idempotency_records = idempotency_table(metadata)


class DistributeTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the distribute service's tables (its own metadata, its own database)."""


# --- the site tree ----------------------------------------------------------------------------


class Site(DistributeTable, table=True):
    """A government website (portal or department site); addressed by `slug`."""

    __tablename__ = "site"

    slug: str = Field(primary_key=True, max_length=60)
    name: str = Field(max_length=200)
    domain: str = Field(max_length=200)
    site_id_code: str = Field(max_length=20)
    parent: str | None = Field(default=None, foreign_key="site.slug", max_length=60)
    description: str = ""
    # Bumped by every change to the site or its columns; stored pages older than this are
    # re-rendered by the upkeep job so their page tags follow.
    render_rev: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class SiteColumn(DistributeTable, table=True):
    """A column (栏目) of a site; `type` is the page tag ColumnType's key."""

    __tablename__ = "site_column"
    __table_args__ = (UniqueConstraint("site", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(foreign_key="site.slug", index=True, max_length=60)
    slug: str = Field(max_length=60)
    name: str = Field(max_length=200)
    type: str = Field(max_length=30)
    description: str = ""
    position: int = 0
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


# --- what was approved and where it went -----------------------------------------------------


class ContentSnapshot(DistributeTable, table=True):
    """One version of an item as the library announced it; what gets rendered and published."""

    __tablename__ = "content_snapshot"

    content_id: str = Field(primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    content_hash: str = Field(max_length=64)
    title: str
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=30)
    site: str = Field(max_length=60)
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    publisher: str
    doc_number: str | None = None
    author: str = ""
    summary: str | None = None
    index_no: str | None = None
    is_reprint: bool = False
    written_at: str | None = None
    received_at: datetime = timestamp_field()


class Release(DistributeTable, table=True):
    """An approved version on its way out; the row every completion locks to decide, once,
    that the version is published."""

    __tablename__ = "release"

    content_id: str = Field(primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    content_hash: str = Field(max_length=64)
    site: str = Field(max_length=60)
    state: str = Field(max_length=20)  # delivering | published | failed | retracted
    detail: str = ""
    approved_at: datetime = timestamp_field()
    published_at: datetime | None = timestamp_field(nullable=True)


class Delivery(DistributeTable, table=True):
    """One action (publish / retract) of one version to one target, with its recorded state.

    `id` is also the Standard Webhooks `webhook-id`: every attempt of a delivery carries it, so
    a receiver that saw an attempt whose outcome we never learnt drops the repeat.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("content_id", "version", "target", "action"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
        Index("ix_delivery_state_order", "state", "created_at", "id"),  # operators' lists
    )

    id: str = Field(primary_key=True, max_length=40)
    content_id: str = Field(index=True, max_length=40)
    version: int
    content_hash: str = Field(max_length=64)
    action: str = Field(max_length=20)  # publish | retract
    target: str = Field(max_length=200)  # portal:<site>/<column> | webhook:<endpoint id>
    channel: str = Field(max_length=20)  # portal | webhook
    endpoint_id: str | None = Field(default=None, index=True, max_length=40)
    # pending | sending | delivered | failed | cancelled; takedowns also waiting | not_needed
    state: str = Field(max_length=20)
    attempts: int = 0
    # `attempts` when the current retry budget began: a replay or an operator's retry starts a
    # fresh schedule while attempt numbers keep counting up
    retry_base: int = 0
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    payload: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    next_attempt_at: datetime | None = timestamp_field(nullable=True)
    lease_until: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    delivered_at: datetime | None = timestamp_field(nullable=True)


class DeliveryAttempt(DistributeTable, table=True):
    """The delivery log: one row per send attempt and its outcome."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(index=True, max_length=40)
    number: int
    outcome: str = Field(max_length=20)  # delivered | retry | failed
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    at: datetime = timestamp_field()


class DeliveryAction(DistributeTable, table=True):
    """Audit of what staff did to a delivery (retry, replay): who, when, from which state."""

    __tablename__ = "delivery_action"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(index=True, max_length=40)
    action: str = Field(max_length=20)  # retry | replay
    actor_id: str = Field(max_length=200)
    actor_name: str = Field(default="", max_length=200)
    from_state: str = Field(max_length=20)
    at: datetime = timestamp_field()


class Retraction(DistributeTable, table=True):
    """A takedown; versions up to `up_to_version` must not be published afterwards."""

    __tablename__ = "retraction"

    content_id: str = Field(primary_key=True, max_length=40)
    up_to_version: int
    reason: str = ""
    requested_by: str = ""
    at: datetime = timestamp_field()


class WebhookEndpoint(DistributeTable, table=True):
    """A registered receiver of signed outbound webhooks."""

    __tablename__ = "webhook_endpoint"

    id: str = Field(primary_key=True, max_length=40)
    url: str = Field(max_length=2000)
    # Sealed with the data key (`common.secretbox`, `fernet:…`): every send needs the plain value
    # (Standard Webhooks is symmetric HMAC), so it is encrypted, not hashed. A row written before
    # sealing holds the plain value until the service's next start seals it.
    secret: str = Field(max_length=1000)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site: str | None = Field(default=None, max_length=60)
    description: str = ""
    active: bool = True
    created_at: datetime = timestamp_field()
    deleted_at: datetime | None = timestamp_field(nullable=True)


# --- the public output, materialised at publish time (served as stored bytes) ---------------


class ColumnEntry(DistributeTable, table=True):
    """An item listed in a column: the list entry's JSON, ordered by publish time."""

    __tablename__ = "column_entry"
    __table_args__ = (Index("ix_column_entry_order", "site", "column", "position"),)

    site: str = Field(primary_key=True, max_length=60)
    column: str = Field(primary_key=True, max_length=60)
    content_id: str = Field(primary_key=True, max_length=40)
    version: int
    # Publish time in epoch microseconds: a total order that needs no time-zone care.
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Article(DistributeTable, table=True):
    """The article page's JSON (with page tags) for one item on one site."""

    __tablename__ = "article"

    site: str = Field(primary_key=True, max_length=60)
    content_id: str = Field(primary_key=True, max_length=40)
    version: int
    content_hash: str = Field(max_length=64)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    published_at: datetime = timestamp_field()
    retracted_at: datetime | None = timestamp_field(nullable=True)
    render_rev: int = 1


class Change(DistributeTable, table=True):
    """The change feed: one row per publish, update or retraction (tombstone), in `seq` order."""

    __tablename__ = "change_feed"

    seq: int | None = Field(
        default=None, sa_column=Column(BigIntId, primary_key=True, autoincrement=True)
    )
    site: str = Field(index=True, max_length=60)
    content_id: str = Field(max_length=40)
    version: int
    op: str = Field(max_length=20)  # published | updated | retracted
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    at: datetime = timestamp_field()


# --- the audit chain (common.audit_chain) ----------------------------------------------------


class AuditEntry(DistributeTable, AuditEntryFields, table=True):
    """One link of distribute's audit chain (staff acts); never updated or deleted."""

    __tablename__ = "audit_entry"


class AuditHead(DistributeTable, AuditHeadFields, table=True):
    """Distribute's chain newest (seq, hash); locked by every append."""

    __tablename__ = "audit_head"
