"""What the distribute API accepts and returns."""

from __future__ import annotations

from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from services.distribute.webhooks import WEBHOOK_EVENTS, valid_secret

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
# 网站标识码: 6-digit region code + 4-digit serial, or `bm` + 8 digits for central ministries.
SITE_ID_CODE_PATTERN = r"^(\d{10}|bm\d{8})$"
DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}(:\d{1,5})?$"
ColumnType = Literal["news", "notice", "policy", "interpretation", "interview", "other"]
WebhookEvent = Literal["content.published", "content.retracted"]


def _every_event() -> list[WebhookEvent]:
    return [cast(WebhookEvent, name) for name in WEBHOOK_EVENTS]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SiteCreate(_Input):
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    domain: str = Field(max_length=200, pattern=DOMAIN_PATTERN)
    site_id_code: str = Field(pattern=SITE_ID_CODE_PATTERN)
    parent: str | None = Field(default=None, pattern=SLUG_PATTERN)
    description: str = Field(default="", max_length=2000)


class SiteUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    domain: str | None = Field(default=None, max_length=200, pattern=DOMAIN_PATTERN)
    site_id_code: str | None = Field(default=None, pattern=SITE_ID_CODE_PATTERN)
    parent: str | None = Field(default=None, pattern=SLUG_PATTERN)
    description: str | None = Field(default=None, max_length=2000)


class ColumnCreate(_Input):
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    type: ColumnType = "other"
    description: str = Field(default="", max_length=2000)
    position: int = Field(default=0, ge=0, le=10_000)


class ColumnUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: ColumnType | None = None
    description: str | None = Field(default=None, max_length=2000)
    position: int | None = Field(default=None, ge=0, le=10_000)


class WebhookEndpointCreate(_Input):
    """A receiver; `secret` (whsec_…) is generated when omitted and shown only in the reply."""

    url: HttpUrl
    secret: str | None = Field(default=None, max_length=200)
    events: list[WebhookEvent] = Field(default_factory=lambda: _every_event(), min_length=1)
    site: str | None = Field(default=None, pattern=SLUG_PATTERN)
    description: str = Field(default="", max_length=500)

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: HttpUrl) -> HttpUrl:
        if url.scheme not in ("http", "https"):
            raise ValueError("must be an http or https URL")
        return url

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, secret: str | None) -> str | None:
        if secret is not None and not valid_secret(secret):
            raise ValueError("must be base64 (optionally prefixed whsec_), 24 to 64 bytes")
        return secret


# --- what the API answers (documentation of the bytes the routes send) ----------------------


class _Output(BaseModel):
    """Base of the answers' schemas (routes send stored or pre-serialised bytes)."""

    model_config = ConfigDict(extra="forbid")


class SitePublic(_Output):
    slug: str
    name: str
    domain: str
    site_id_code: str
    parent: str | None
    description: str
    url: str
    updated_at: str = Field(description="ISO 8601, Asia/Shanghai offset")


class ColumnPublic(_Output):
    slug: str
    name: str
    type: str
    type_name: str = Field(description="the ColumnType page tag")
    description: str
    position: int
    site: str
    feeds: dict[str, str] = Field(description="feed paths by format: rss, atom, json")


class SiteDetailPublic(SitePublic):
    columns: list[ColumnPublic]


class EntryPublic(_Output):
    """An item in a column list (newest first)."""

    id: str
    version: int
    title: str
    summary: str
    kind: str
    publisher: str
    doc_number: str | None
    column: str
    published_at: str
    url: str


class ArticleColumnPublic(_Output):
    slug: str
    name: str
    type: str


class ArticlePublic(_Output):
    """A published article with its page tags (`meta_html` is the same tags as `<meta>`)."""

    id: str
    version: int
    content_hash: str
    site: str
    columns: list[ArticleColumnPublic]
    title: str
    summary: str
    body_html: str
    kind: str
    publisher: str
    doc_number: str | None
    index_no: str | None
    author: str
    is_reprint: bool
    written_at: str | None
    published_at: str
    updated_at: str
    url: str
    page_tags: dict[str, str]
    meta_html: str


class ChangePublic(_Output):
    """A publication, update or retraction tombstone (no content, a `reason`)."""

    seq: int
    op: Literal["published", "updated", "retracted"]
    site: str
    content_id: str
    version: int
    at: str
    href: str
    content_hash: str | None = None
    title: str | None = None
    columns: list[str] | None = None
    url: str | None = None
    published_at: str | None = None
    reason: str | None = None


class ChangesPublic(_Output):
    """Changes after the cursor, oldest first; `next_cursor` is always set."""

    items: list[ChangePublic]
    next_cursor: str
    has_more: bool


class WebhookEndpointPublic(_Output):
    id: str
    url: str
    events: list[str]
    site: str | None
    description: str
    active: bool
    created_at: str


class WebhookEndpointCreated(WebhookEndpointPublic):
    """The creating reply (or its idempotent replay): the only one that shows the secret."""

    secret: str


class DeliveryPublic(_Output):
    id: str
    content_id: str
    version: int
    content_hash: str
    action: Literal["publish", "retract"]
    target: str
    channel: Literal["portal", "webhook"]
    endpoint_id: str | None
    state: str
    attempts: int
    last_error: str
    next_attempt_at: str | None
    created_at: str
    updated_at: str
    delivered_at: str | None


class DeliveryAttemptPublic(_Output):
    number: int
    outcome: str
    status_code: int | None
    error: str
    duration_ms: int
    at: str


class DeliveryActionPublic(_Output):
    action: str
    actor_id: str
    actor_name: str
    from_state: str
    at: str


class DeliveryDetailPublic(DeliveryPublic):
    log: list[DeliveryAttemptPublic]
    actions: list[DeliveryActionPublic]
