"""What the ingest API accepts (`*In`, `ContentSubmission`) and returns (`*Public`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from common.pagination import Page

ContentKind = Literal["news", "policy", "interpretation", "notice", "announcement", "interview"]
ContentStatus = Literal[
    "ingested",
    "in_review",
    "approved",
    "published",
    "rejected",
    "returned",
    "quarantined",
    "retracted",
]
Disclosure = Literal["主动公开", "依申请公开", "不予公开"]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"


class Public(BaseModel):
    """Base of what the API answers: exactly the documented fields (the routes send orjson bytes
    built by the domain; the tests check each answer against its model)."""

    model_config = ConfigDict(extra="forbid")


MAX_FANOUT_SELECTORS = 20


class FanoutSelectorIn(BaseModel):
    """One fan-out selector (`common.events.FanoutSelector`): `columns` on `site` (`self`), on
    its direct children (`children`) or on every site under it (`descendants`). Which of those
    sites lack a column is distribute's answer at release time (a failed delivery there)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    site: str = Field(pattern=SLUG_PATTERN)
    scope: Literal["self", "children", "descendants"] = "self"
    columns: list[Annotated[str, Field(pattern=SLUG_PATTERN)]] = Field(min_length=1, max_length=20)

    @field_validator("columns")
    @classmethod
    def _distinct_columns(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a column may be named once")
        return value


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
    # new-media accounts (distribute's account ids) to post to, besides the columns' defaults
    accounts: list[Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN)]] = Field(
        default_factory=list, max_length=20
    )
    # 多站点分发: further sites and columns over the site tree, besides `site` + `columns`
    fanout: list[FanoutSelectorIn] = Field(default_factory=list, max_length=MAX_FANOUT_SELECTORS)

    @field_validator("fanout")
    @classmethod
    def _distinct_selectors(cls, value: list[FanoutSelectorIn]) -> list[FanoutSelectorIn]:
        seen = [(s.site, s.scope) for s in value]
        if len(set(seen)) != len(seen):
            raise ValueError("each (site, scope) may be named once")
        return value

    # 定时发布: approved, the item waits and goes out at this moment on every target; a future
    # `published_at` (发布日期) without it is taken as the schedule
    publish_at: AwareDatetime | None = None
    # nothing leaves before this moment, whatever the schedule; review may finish meanwhile
    embargo_until: AwareDatetime | None = None
    # 到期下线: taken down everywhere at this moment, as a retraction would
    expire_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_body(self) -> ContentSubmission:
        if not (self.body_html or self.body_text):
            raise ValueError("one of body_html or body_text is required")
        if (self.reprint_url or self.reprint_of) and not self.reprint_source:
            raise ValueError("reprint_source (来源) is required on a reprint")
        check_schedule_order(self.publish_at, self.embargo_until, self.expire_at)
        return self

    @property
    def is_reprint(self) -> bool:
        return bool(self.reprint_source)


def check_schedule_order(
    publish_at: datetime | None, embargo_until: datetime | None, expire_at: datetime | None
) -> None:
    """An item cannot expire before it may go out."""
    for name, start in (("publish_at", publish_at), ("embargo_until", embargo_until)):
        if expire_at is not None and start is not None and expire_at <= start:
            raise ValueError(f"expire_at must be later than {name}")


class ScheduleIn(BaseModel):
    """An item's whole schedule (PUT replaces it); `null` cancels that part."""

    model_config = ConfigDict(extra="forbid")

    publish_at: AwareDatetime | None
    embargo_until: AwareDatetime | None = None
    expire_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleIn:
        check_schedule_order(self.publish_at, self.embargo_until, self.expire_at)
        return self


ScheduleState = Literal["waiting", "published", "expired", "retracted", "none"]


class SchedulePublic(Public):
    """An item's schedule as the library holds it; `state` says where it stands now."""

    id: str
    title: str
    site: str
    status: str
    publish_at: datetime | None
    embargo_until: datetime | None
    expire_at: datetime | None
    revision: int
    state: ScheduleState


class SchedulesPage(Page[SchedulePublic]):
    """Scheduled items, soonest first."""


class StatusEntryPublic(Public):
    version: int
    status: str
    detail: str
    at: datetime


class RelationsPublic(Public):
    cites: list[dict[str, Any]] = []
    cited_by: list[str] = []
    interprets: list[dict[str, Any]] = []
    interpreted_by: list[str] = []
    reprint_of: str | None = None
    reprinted_by: list[str] = []
    duplicate_of: str | None = None
    repeals: list[dict[str, Any]] = []
    amends: list[dict[str, Any]] = []


class ContentPublic(Public):
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
    retracted_version: int | None = None
    publish_at: datetime | None = None
    embargo_until: datetime | None = None
    expire_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    sources: list[dict[str, Any]]
    relations: RelationsPublic
    cleaning: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    history: list[StatusEntryPublic] = []


class ContentSummaryPublic(Public):
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


class SubmissionAcceptedPublic(Public):
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


class ReleasedPublic(Public):
    """A quarantined item released to review."""

    id: str
    version: int
    status: str


class VersionSummaryPublic(Public):
    """One version in an item's history: author, hash, and diff against the one before."""

    version: int
    content_hash: str
    author: str
    created_at: datetime
    title: str
    diff: str
    cleaning: list[dict[str, Any]]


class VersionListPublic(Public):
    """Every version of an item, oldest first (one page: no cursor)."""

    items: list[VersionSummaryPublic]


class ContentVersionPublic(Public):
    """One immutable version as stored."""

    id: int | None
    content_id: str
    version: int
    title: str
    body_html: str
    body_text: str
    kind: str
    site: str
    columns: list[str]
    publisher: str
    doc_number: str | None
    content_hash: str
    author: str
    created_at: datetime
    raw_sha256: str | None
    cleaning: list[dict[str, Any]]
    diff: str
    written_at: date | None
    summary: str
    keywords: list[str]
    topic: str
    script: str
    attachments: list[dict[str, Any]]
    accounts: list[str] = []
    fanout: list[dict[str, Any]] = []
    # the item's schedule when read (publish_at, embargo_until, expire_at, revision)
    schedule: dict[str, Any] | None = None
    reprint_of: str | None = None  # the item's original, when it is a reprint (转载)


class SearchHitPublic(Public):
    """A public search hit: the published version's title, a highlighted snippet, the score."""

    id: str
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
    published_at: datetime | None
    snippet: str
    title_highlighted: str
    score: float


class StaffSearchHitPublic(SearchHitPublic):
    """A staff search hit: the current version, with its status."""

    status: str
    version: int
    updated_at: datetime


Facets = dict[str, dict[str, int]]


class SiteSearchPublic(Page[SearchHitPublic]):
    """A page of a site's public search, with facet counts on the first page."""

    model_config = ConfigDict(extra="forbid")

    facets: Facets


class StaffSearchPublic(Page[StaffSearchHitPublic]):
    """A page of the staff search (`GET /api/v1/contents?q=`), with facet counts."""

    model_config = ConfigDict(extra="forbid")

    facets: Facets


class SourceIn(BaseModel):
    """A subordinate site (list pages or a sitemap + article-link pattern) or an RSS/Atom feed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["site", "feed"] = "site"
    start_urls: list[HttpUrl] = Field(min_length=1, max_length=20)
    article_pattern: str | None = Field(default=None, max_length=300)
    site: str = Field(pattern=SLUG_PATTERN)
    columns: list[str] = Field(min_length=1, max_length=20)
    publisher: str = Field(min_length=1, max_length=200)
    content_kind: ContentKind = "news"
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    max_pages: int = Field(default=200, ge=1, le=5000)
    delay_seconds: float = Field(default=1.0, ge=0, le=60)
    concurrency: int = Field(default=2, ge=1, le=8)
    enabled: bool = True

    @field_validator("article_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class CrawlSourcePublic(Public):
    """A crawl or feed source, its schedule and where its items go."""

    id: str
    name: str
    kind: str
    start_urls: list[str]
    article_pattern: str | None
    site: str
    columns: list[str]
    publisher: str
    content_kind: str
    interval_minutes: int
    max_pages: int
    delay_seconds: float
    concurrency: int
    enabled: bool
    created_at: datetime
    last_run_at: datetime | None


class CrawlRunPublic(Public):
    """A crawl run: queued → running → done / failed / interrupted, with its progress."""

    id: str
    source_id: str
    trigger: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counters: dict[str, int]
    errors: list[dict[str, Any]]
    heartbeat_at: datetime | None
    status_reason: str | None


class WebhookSecretPublic(Public):
    """A webhook source's signing secret, without its value."""

    id: str
    source: str
    active: bool
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class WebhookSecretCreatedPublic(WebhookSecretPublic):
    """A new signing secret, with its value (shown this once)."""

    secret: str


class WebhookSecretListPublic(Public):
    """A source's secrets, oldest first (one page: no cursor)."""

    items: list[WebhookSecretPublic]


# --- retraction (撤稿) ---------------------------------------------------------------------------

# C0 and C1 control characters (tab and newline included: a reason is one line of text)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RetractionIn(BaseModel):
    """Why a published item is taken down everywhere (shown to receivers and in the audit)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=500)

    @field_validator("reason")
    @classmethod
    def _printable(cls, reason: str) -> str:
        if CONTROL_CHARACTERS.search(reason):
            raise ValueError("must not contain control characters")
        return reason


class RetractionPublic(Public):
    """The accepted request: the item is `retracted` in the library now; distribute takes it
    down from every outlet (`GET /api/v1/deliveries/outlets/{id}` shows each one's answer)."""

    id: str
    status: Literal["retracted"]
    retracted_version: int
    reason: str
    requested_by: str
    requested_at: datetime
