"""The review service's tables: tasks, findings, decisions, lexicons, policies, the audit chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.columns import timestamp_field
from common.db import new_metadata
from common.idempotency import idempotency_table
from common.messaging import Outbox, messaging_tables
from services.review.checks.types import Finding

metadata = new_metadata()
tables = messaging_tables(metadata)
# Idempotency-Key records of the creating requests (decisions, lexicons, policies).
idempotency_records = idempotency_table(metadata)
OUTBOX = Outbox(tables, source="/kitchen/review")


class ReviewTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the review service's tables (its own metadata, its own database)."""


class ReviewTask(ReviewTable, table=True):
    """The human review of one version of one item; `stage_index` walks `stages`."""

    __tablename__ = "review_task"
    __table_args__ = (
        UniqueConstraint("content_id", "version"),
        Index("ix_review_task_queue", "status", "stage_role", "queue_key"),
    )

    id: str = Field(primary_key=True, max_length=40)
    content_id: str = Field(index=True, max_length=40)
    version: int
    content_hash: str = Field(max_length=64)
    # in_review → approved | rejected | returned | superseded
    status: str = Field(max_length=20)
    stages: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    stage_index: int = 0
    stage: str = Field(max_length=40)
    stage_role: str = Field(max_length=40)
    # "0|<created iso>|<id>" or "1|…": urgent items sort first, then oldest first.
    queue_key: str = Field(max_length=120, index=True)
    claimed_by: str | None = Field(default=None, max_length=100, index=True)
    due_at: datetime | None = timestamp_field(index=True, nullable=True)
    stage_hours: float = 24.0
    reminded_stage: int | None = None
    confidentiality_required: bool = False
    attested_by: str | None = Field(default=None, max_length=100)
    attested_at: datetime | None = timestamp_field(nullable=True)
    attestation_comment: str | None = None
    override_by: str | None = Field(default=None, max_length=100)
    override_reason: str | None = None
    blocking_findings: int = 0
    title: str
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=30)
    site: str = Field(index=True, max_length=60)
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    publisher: str
    doc_number: str | None = None
    author: str = Field(max_length=100)
    urgent: bool = False
    is_reprint: bool = False
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class FindingRow(ReviewTable, table=True):
    """One machine-check finding of one version (stored per version, re-checked on a new one)."""

    __tablename__ = "finding"

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(max_length=40)
    version: int
    ordinal: int
    rule: str = Field(max_length=120)
    category: str = Field(max_length=60)
    severity: str = Field(max_length=10)
    field: str = Field(max_length=20)
    start: int
    end: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    suggestion: str | None = None

    __table_args__ = (Index("ix_finding_version", "content_id", "version", "ordinal"),)


class Decision(ReviewTable, table=True):
    """A signature on a stage (approve/reject/return), or a 保密 attestation."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(foreign_key="review_task.id", index=True, max_length=40)
    stage_index: int
    stage: str = Field(max_length=40)
    decision: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    comment: str = ""
    override_reason: str | None = None
    at: datetime = timestamp_field()


class Lexicon(ReviewTable, table=True):
    """A named lexicon (sensitive words, classification marks, wording errors, typos)."""

    __tablename__ = "lexicon"

    name: str = Field(primary_key=True, max_length=60)
    kind: str = Field(max_length=20)
    category: str = Field(max_length=60)
    severity: str = Field(max_length=10)
    description: str = ""
    active: bool = True
    version: int = 1
    updated_at: datetime = timestamp_field()


class LexiconVersion(ReviewTable, table=True):
    """An immutable upload of a lexicon; the lexicon's `version` points at the current one."""

    __tablename__ = "lexicon_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(foreign_key="lexicon.name", max_length=60)
    version: int
    entries: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp_field()


class ReviewPolicy(ReviewTable, table=True):
    """Stages per site and kind (`*` matches any); the most specific policy wins."""

    __tablename__ = "review_policy"

    site: str = Field(primary_key=True, max_length=60)
    kind: str = Field(primary_key=True, max_length=30)
    stages: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    confidentiality: str = Field(max_length=20)
    reprint_stages: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    stage_hours: float = 24.0
    urgent_stage_hours: float = 4.0
    updated_by: str = Field(max_length=100)
    updated_at: datetime = timestamp_field()


class AuditEntry(ReviewTable, table=True):
    """One link of the hash chain; never updated or deleted through the service."""

    __tablename__ = "audit_entry"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = timestamp_field(index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    subject: str = Field(index=True, max_length=60)
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(ReviewTable, table=True):
    """The chain's newest (seq, hash); one row, locked by every append so the chain never forks.

    `base_seq`/`base_hash` are where the kept chain starts after older entries were archived.
    """

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str = Field(max_length=64)
    base_seq: int = 0
    base_hash: str = Field(max_length=64)


class LinkCheck(ReviewTable, table=True):
    """A queued broken-link check of one task's version, run by a periodic job.

    The consumer only queues it: HTTP checks never run inside a database transaction.
    status: pending → done | skipped (task no longer open) | failed (gave up after retries).
    """

    __tablename__ = "link_check"
    __table_args__ = (Index("ix_link_check_queue", "status", "queued_at"),)

    task_id: str = Field(primary_key=True, foreign_key="review_task.id", max_length=40)
    content_id: str = Field(max_length=40)
    version: int
    status: str = Field(max_length=10)
    attempts: int = 0
    last_error: str | None = None
    queued_at: datetime = timestamp_field()
    checked_at: datetime | None = timestamp_field(nullable=True)


def finding_row(content_id: str, version: int, ordinal: int, finding: Finding) -> FindingRow:
    """The stored form of one finding of one version."""
    return FindingRow(
        content_id=content_id,
        version=version,
        ordinal=ordinal,
        rule=finding.rule,
        category=finding.category,
        severity=finding.severity,
        field=finding.field,
        start=finding.start,
        end=finding.end,
        text=finding.text,
        suggestion=finding.suggestion,
    )
