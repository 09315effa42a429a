"""What the ingest API accepts and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ContentKind = Literal["news", "policy", "interpretation", "notice", "announcement", "interview"]
ContentStatus = Literal[
    "ingested", "in_review", "approved", "published", "rejected", "returned", "quarantined"
]
Disclosure = Literal["主动公开", "依申请公开", "不予公开"]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"


class ContentSubmission(BaseModel):
    """A unit's submission (信息报送); HTML or text body, targeted at one site's columns."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    body_html: str | None = Field(default=None, max_length=1_000_000)
    body_text: str | None = Field(default=None, max_length=1_000_000)
    kind: ContentKind
    site: str = Field(pattern=SLUG_PATTERN)
    columns: list[str] = Field(min_length=1, max_length=20)
    publisher: str = Field(min_length=1, max_length=200)
    doc_number: str | None = Field(default=None, max_length=100)
    disclosure: Disclosure | None = None
    urgent: bool = False
    published_at: datetime | None = None
    # 转载: a reprint names its source (来源 is mandatory on reprints).
    reprint_source: str | None = Field(default=None, max_length=200)
    reprint_url: str | None = Field(default=None, max_length=1000)
    reprint_of: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _one_body(self) -> ContentSubmission:
        if not (self.body_html or self.body_text):
            raise ValueError("one of body_html or body_text is required")
        if (self.reprint_url or self.reprint_of) and not self.reprint_source:
            raise ValueError("reprint_source (来源) is required on a reprint")
        return self

    @property
    def is_reprint(self) -> bool:
        return bool(self.reprint_source)


class StatusEntry(BaseModel):
    version: int
    status: str
    detail: str
    at: datetime


class Relations(BaseModel):
    cites: list[dict[str, Any]] = []
    cited_by: list[str] = []
    interprets: list[dict[str, Any]] = []
    interpreted_by: list[str] = []
    reprint_of: str | None = None
    reprinted_by: list[str] = []
    duplicate_of: str | None = None
    repeals: list[dict[str, Any]] = []
    amends: list[dict[str, Any]] = []


class ContentOut(BaseModel):
    id: str
    version: int
    status: str
    status_reason: str | None
    quarantine: dict[str, Any] | None
    content_hash: str
    title: str
    body_html: str
    body_text: str
    kind: str
    site: str
    columns: list[str]
    publisher: str
    doc_number: str | None
    written_at: date | None
    published_at: datetime | None
    index_no: str | None
    topic: str
    keywords: list[str]
    summary: str
    script: str
    disclosure: str
    validity: str
    is_reprint: bool
    author: str
    urgent: bool
    approved_version: int | None
    published_version: int | None
    created_at: datetime
    updated_at: datetime
    sources: list[dict[str, Any]]
    relations: Relations
    cleaning: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    history: list[StatusEntry] = []


class ContentSummary(BaseModel):
    id: str
    version: int
    status: str
    content_hash: str
    title: str
    kind: str
    site: str
    columns: list[str]
    publisher: str
    doc_number: str | None
    index_no: str | None
    topic: str
    summary: str
    written_at: date | None
    author: str
    updated_at: datetime


class SubmissionAccepted(BaseModel):
    """`outcome`: created, merged (already in the library: this is the existing item), reprint,
    duplicate (a copy of `related_to` on another site)."""

    id: str
    version: int
    status: str
    content_hash: str
    outcome: str = "created"
    related_to: str | None = None


class RelationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["interprets", "reprint_of"]
    target_id: str = Field(min_length=1, max_length=40)
