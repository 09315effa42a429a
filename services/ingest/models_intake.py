"""Intake bookkeeping: webhook secrets and deliveries, idempotency, crawl sources and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field

from common.columns import timestamp_field
from common.idempotency import idempotency_table
from services.ingest.models import IngestTable, json_list, metadata


class WebhookSecret(IngestTable, table=True):
    """One signing secret of an inbound webhook source; several may be active (rotation)."""

    __tablename__ = "webhook_secret"

    id: str = Field(primary_key=True, max_length=40)
    source: str = Field(index=True, max_length=60)
    secret: str = Field(max_length=200)
    active: bool = True
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)


class WebhookDelivery(IngestTable, table=True):
    """A `webhook-id` already handled; a redelivery answers the first response, no effect."""

    __tablename__ = "webhook_delivery"

    source: str = Field(primary_key=True, max_length=60)
    webhook_id: str = Field(primary_key=True, max_length=200)
    status_code: int
    response: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = timestamp_field()


# The first answer to an `Idempotency-Key` of one caller, replayed for a retry
# (`common.idempotency`; the table the first migration created, unchanged).
idempotency_records = idempotency_table(metadata)


class CrawlSource(IngestTable, table=True):
    """A subordinate site or feed to pull from, and where its items go."""

    __tablename__ = "crawl_source"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # site | feed
    start_urls: list[str] = json_list()
    article_pattern: str | None = None
    site: str = Field(max_length=60)
    columns: list[str] = json_list()
    publisher: str
    content_kind: str = Field(default="news", max_length=30)
    interval_minutes: int = 60
    max_pages: int = 200
    delay_seconds: float = 1.0
    concurrency: int = 2
    enabled: bool = True
    created_at: datetime = timestamp_field()
    last_run_at: datetime | None = timestamp_field(nullable=True)


class CrawlRun(IngestTable, table=True):
    """One crawl of a source: queued → running → done / failed, with counters as it goes.

    A running run's worker renews `heartbeat_at`; a run whose heartbeat is older than
    `KITCHEN_CRAWL_STALE_SECONDS` (its worker crashed or was killed) becomes `interrupted`,
    with the reason in `status_reason`.
    """

    __tablename__ = "crawl_run"

    id: str = Field(primary_key=True, max_length=40)
    source_id: str = Field(foreign_key="crawl_source.id", index=True, max_length=40)
    trigger: str = Field(max_length=20)
    status: str = Field(index=True, max_length=20)
    created_at: datetime = timestamp_field()
    started_at: datetime | None = timestamp_field(nullable=True)
    finished_at: datetime | None = timestamp_field(nullable=True)
    counters: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    errors: list[dict[str, Any]] = json_list()
    heartbeat_at: datetime | None = timestamp_field(nullable=True)
    status_reason: str | None = Field(default=None, max_length=300)


class PageState(IngestTable, table=True):
    """What the crawler last saw at a URL: validators for conditional GET and the item made."""

    __tablename__ = "page_state"

    source_id: str = Field(primary_key=True, max_length=40)
    url: str = Field(primary_key=True, max_length=1000)
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = Field(default=None, max_length=64)
    content_id: str | None = Field(default=None, max_length=40)
    last_status: str = Field(default="", max_length=40)
    last_error: str | None = None
    fetched_at: datetime = timestamp_field()
