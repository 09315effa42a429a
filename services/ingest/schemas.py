"""What the ingest API accepts and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ContentKind = Literal["news", "policy", "interpretation", "notice", "announcement", "interview"]
ContentStatus = Literal[
    "ingested", "in_review", "approved", "published", "rejected", "returned", "quarantined"
]
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
    urgent: bool = False

    @model_validator(mode="after")
    def _one_body(self) -> ContentSubmission:
        if not (self.body_html or self.body_text):
            raise ValueError("one of body_html or body_text is required")
        return self


class StatusEntry(BaseModel):
    version: int
    status: str
    detail: str
    at: datetime


class ContentOut(BaseModel):
    id: str
    version: int
    status: str
    status_reason: str | None
    content_hash: str
    title: str
    body_html: str
    body_text: str
    kind: str
    site: str
    columns: list[str]
    publisher: str
    doc_number: str | None
    author: str
    urgent: bool
    approved_version: int | None
    published_version: int | None
    created_at: datetime
    updated_at: datetime
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
    author: str
    updated_at: datetime


class SubmissionAccepted(BaseModel):
    id: str
    version: int
    status: str
    content_hash: str
