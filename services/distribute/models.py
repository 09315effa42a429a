"""Distribute's tables: the site tree, content snapshots, releases, deliveries, the materialised
public output (column entries, articles, change feed) and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.audit_chain import AuditEntryFields, AuditHeadFields
from common.columns import timestamp_field
from common.db import new_metadata
from common.idempotency import idempotency_table
from common.messaging import BigIntId, Outbox, messaging_tables

metadata = new_metadata()
tables = messaging_tables(metadata)
OUTBOX = Outbox(tables, source="/kitchen/distribute")
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
    # the library item this one reprints (转载), when it is a reprint: its publication fulfils
    # the lower site's reprint obligation (`services.distribute.reprints`)
    reprint_of: str | None = Field(default=None, max_length=40)
    written_at: str | None = None
    # the original publication date (发布日期, ISO 8601) of an imported or crawled item: the
    # portal shows it as PubDate; the delivery time is kept apart (`Article.published_at`)
    published_at: str | None = None
    # new-media accounts the submission named (`channel_account.id`), besides its columns'
    # default accounts
    accounts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # fan-out selectors (`common.events.FanoutSelector` as JSON): further portal targets over
    # the site tree, resolved at release time (`services.distribute.fanout`)
    fanout: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    received_at: datetime = timestamp_field()


class Release(DistributeTable, table=True):
    """An approved version on its way out; the row every completion locks to decide, once,
    that the version is published."""

    __tablename__ = "release"

    content_id: str = Field(primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    content_hash: str = Field(max_length=64)
    site: str = Field(max_length=60)
    # awaiting_content | scheduled | delivering | published | failed | retracted
    state: str = Field(max_length=20)
    detail: str = ""
    approved_at: datetime = timestamp_field()
    published_at: datetime | None = timestamp_field(nullable=True)


class ContentSchedule(DistributeTable, table=True):
    """An item's schedule as the library last announced it (the highest `revision` wins).

    `due_at` is when an approved version may go out: the later of `publish_at` and
    `embargo_until`, or None for at once. A release that must wait is `scheduled`; the
    `schedules` job starts it at `due_at`."""

    __tablename__ = "content_schedule"

    content_id: str = Field(primary_key=True, max_length=40)
    revision: int = 0
    publish_at: datetime | None = timestamp_field(nullable=True)
    embargo_until: datetime | None = timestamp_field(nullable=True)
    expire_at: datetime | None = timestamp_field(nullable=True)
    due_at: datetime | None = timestamp_field(nullable=True, index=True)
    updated_at: datetime = timestamp_field()


class ReprintRule(DistributeTable, table=True):
    """A reprint linkage rule (转载协同联动): what a source site publishes, of a kind (or any),
    its lower sites reprint on `target_columns` within `deadline_hours` clock hours.

    `scope`: `children` (the source's direct children), `descendants` (the whole subtree) or
    `list` (`target_sites`). `mode`: `automatic` (the reprint is requested at once) or
    `proposed` (the lower site's editors accept or decline it first).
    """

    __tablename__ = "reprint_rule"

    id: str = Field(primary_key=True, max_length=40)
    source_site: str = Field(foreign_key="site.slug", index=True, max_length=60)
    kind: str | None = Field(default=None, max_length=30)  # None = every kind
    scope: str = Field(max_length=20)  # children | descendants | list
    target_sites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    target_columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    mode: str = Field(max_length=20)  # automatic | proposed
    deadline_hours: int = 24
    active: bool = True
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ReprintObligation(DistributeTable, table=True):
    """One lower site's duty to reprint one original, and how it went (the reprint clock).

    state: proposed (waits for the lower site's editors) | requested (the library was asked) |
    accepted (a proposal the editors took: requested too) | declined | live (the reprint is
    published) | retraction_requested | retracted (the original was taken down).
    """

    __tablename__ = "reprint_obligation"
    __table_args__ = (
        UniqueConstraint("original_id", "site"),
        Index("ix_reprint_obligation_due", "state", "due_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    rule_id: str = Field(index=True, max_length=40)
    original_id: str = Field(max_length=40)
    original_version: int
    source_site: str = Field(max_length=60)
    site: str = Field(index=True, max_length=60)
    unit: str = Field(default="", max_length=200)  # the lower site's name (主办单位)
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    mode: str = Field(max_length=20)
    deadline_hours: int
    state: str = Field(max_length=30)
    detail: str = ""
    original_published_at: datetime = timestamp_field()
    due_at: datetime = timestamp_field()
    proposed_at: datetime | None = timestamp_field(nullable=True)
    requested_at: datetime | None = timestamp_field(nullable=True)
    decided_by: str = Field(default="", max_length=200)
    live_at: datetime | None = timestamp_field(nullable=True)
    reprint_id: str | None = Field(default=None, index=True, max_length=40)
    warned_at: datetime | None = timestamp_field(nullable=True)
    breached_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


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
    # portal:<site>/<column> | webhook:<endpoint id> | wechat:<account id> | weibo:<account id>
    target: str = Field(max_length=200)
    channel: str = Field(max_length=20)  # portal | webhook | wechat | weibo
    endpoint_id: str | None = Field(default=None, index=True, max_length=40)
    account_id: str | None = Field(default=None, index=True, max_length=40)
    # pending | sending | delivered | failed | cancelled; takedowns also waiting | not_needed;
    # new-media posts also confirming (accepted, outcome polled), unknown (sent, answer lost:
    # reconciled by reading back), parked (quota exhausted until `next_attempt_at`) and
    # needs_edit (the platform refused the content: back to the editors)
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
    # the platform's answer (JSON text, truncated): the evidence shown per outlet
    response: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
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
    # an app subscriber's filters: empty means every column / kind of the site(s)
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = ""
    active: bool = True
    created_at: datetime = timestamp_field()
    deleted_at: datetime | None = timestamp_field(nullable=True)


# --- new-media accounts (新媒体账号) and their posts ---------------------------------------------


ONE_ACTIVE = "status = 'active' AND exception_reason = ''"


class ChannelAccount(DistributeTable, table=True):
    """A registered WeChat official account or Weibo account (新媒体账号备案).

    One active account per (platform, unit) unless `exception_reason` records why a second one
    is allowed. `credentials` is a JSON object sealed with the data key (WeChat: appid, secret;
    Weibo: access_token) and never returned by the API.
    """

    __tablename__ = "channel_account"
    __table_args__ = (
        Index("ix_channel_account_unit", "platform", "unit", "status"),
        # the one-active rule, also for registrations racing each other: a second active
        # account of a unit on a platform must record an exception
        Index(
            "uq_channel_account_one_active",
            "platform",
            "unit",
            unique=True,
            sqlite_where=text(ONE_ACTIVE),
            postgresql_where=text(ONE_ACTIVE),
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    platform: str = Field(max_length=20)  # wechat | weibo
    name: str = Field(max_length=200)
    # the platform's id of the account: WeChat appid / original id, Weibo uid
    platform_account_id: str = Field(max_length=100)
    # the platform app whose quotas the account shares (Weibo app key; WeChat: its appid)
    app_id: str = Field(max_length=100)
    unit: str = Field(max_length=200)  # owning unit (主办单位)
    sites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # "<site>/<column>" whose items go to this account by default
    default_columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    credentials: str = Field(max_length=4000)
    # Weibo: the registered safe domain every post's link must be on
    safe_domain: str = Field(default="", max_length=200)
    status: str = Field(default="active", max_length=20)  # active | suspended | closed
    status_reason: str = ""
    exception_reason: str = ""
    filing_number: str = Field(default="", max_length=100)  # 备案号
    operator: str = Field(default="", max_length=200)  # 运营者
    contact: str = Field(default="", max_length=200)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    closed_at: datetime | None = timestamp_field(nullable=True)


class ChannelVariant(DistributeTable, table=True):
    """An item's rendition for one platform (WeChat article, Weibo teaser), rendered from the
    snapshot; review shows it before sign-off and its hash is bound to each post."""

    __tablename__ = "channel_variant"

    content_id: str = Field(primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    platform: str = Field(primary_key=True, max_length=20)
    content_hash: str = Field(max_length=64)  # of the snapshot it was rendered from
    variant_hash: str = Field(max_length=64)  # sha256 of the canonical JSON of `body`
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # what cannot be rendered within the platform's limits: [{"field", "code", "reason"}]
    findings: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    rendered_at: datetime = timestamp_field()


class ChannelPost(DistributeTable, table=True):
    """The platform side of one new-media delivery: how far the steps got and what the
    platform answered, so a resumed or reconciled post never sends a step twice."""

    __tablename__ = "channel_post"

    delivery_id: str = Field(primary_key=True, max_length=40)
    account_id: str = Field(index=True, max_length=40)
    platform: str = Field(max_length=20)
    variant_hash: str = Field(max_length=64)
    # our mark in the post (in the link), found again when reading the account back
    marker: str = Field(index=True, max_length=40)
    # how far it got: new | uploaded | drafted | submitted | published | removed
    stage: str = Field(default="new", max_length=20)
    progress: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )  # media ids, image URLs, publish_id, msg_data_id, article_id, article_url, idstr, …
    post_url: str = Field(default="", max_length=2000)
    platform_post_id: str = Field(default="", max_length=100)  # article_id / idstr
    last_response: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_at: datetime = timestamp_field()


class ChannelQuota(DistributeTable, table=True):
    """Calls used in one window of one limit (per account or per app), counted before the
    platform counts them; `limit_until` holds a platform-imposed pause (Retry-After, 45009)."""

    __tablename__ = "channel_quota"

    scope: str = Field(primary_key=True, max_length=160)  # account:<id> | app:<platform>:<id>
    window: str = Field(primary_key=True, max_length=10)  # minute | hour | day
    window_start: datetime = timestamp_field()
    used: int = 0
    limit_until: datetime | None = timestamp_field(nullable=True)


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
    # an app subscriber reads one kind of item: `kind = ? AND seq > ? ORDER BY seq` is a range
    __table_args__ = (Index("ix_change_feed_kind_seq", "kind", "seq"),)

    seq: int | None = Field(
        default=None, sa_column=Column(BigIntId, primary_key=True, autoincrement=True)
    )
    site: str = Field(index=True, max_length=60)
    content_id: str = Field(max_length=40)
    version: int
    op: str = Field(max_length=20)  # published | updated | retracted
    # what an app subscriber filters on (`GET /api/v1/changes?column=&kind=`)
    kind: str = Field(default="", max_length=30)
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    at: datetime = timestamp_field()


# --- the audit chain (common.audit_chain) ----------------------------------------------------


class AuditEntry(DistributeTable, AuditEntryFields, table=True):
    """One link of distribute's audit chain (staff acts); never updated or deleted."""

    __tablename__ = "audit_entry"


class AuditHead(DistributeTable, AuditHeadFields, table=True):
    """Distribute's chain newest (seq, hash); locked by every append."""

    __tablename__ = "audit_head"
