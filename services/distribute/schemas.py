"""What the distribute API accepts and returns."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
)

from services.distribute.webhooks import WEBHOOK_EVENTS, valid_secret

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
# 网站标识码: 6-digit region code + 4-digit serial, or `bm` + 8 digits for central ministries.
SITE_ID_CODE_PATTERN = r"^(\d{10}|bm\d{8})$"
DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}(:\d{1,5})?$"
ColumnType = Literal["news", "notice", "policy", "interpretation", "interview", "other"]
WebhookEvent = Literal["content.published", "content.retracted"]
# the library's item kinds (what an app subscriber may filter on)
ItemKind = Literal["news", "policy", "interpretation", "notice", "announcement", "interview"]


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
    # an app subscriber's filters (empty: every column of the site(s), every kind); columns are
    # slugs of `site`, so they need it
    columns: list[Annotated[str, Field(pattern=SLUG_PATTERN)]] = Field(
        default_factory=list, max_length=50
    )
    kinds: list[ItemKind] = Field(default_factory=list, max_length=10)
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
    # the date shown (PubDate): the original 发布日期 of an imported or crawled item, else
    # the first delivery; `delivered_at` is when the hub first put it on this site
    published_at: str
    delivered_at: str | None = None
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
    columns: list[str] = Field(description="column slugs of `site` it receives; [] = all")
    kinds: list[str] = Field(description="item kinds it receives; [] = all")
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
    channel: Literal["portal", "webhook", "wechat", "weibo", "account"]
    endpoint_id: str | None
    account_id: str | None
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
    response: str  # the platform's answer (new-media posts): the evidence of the attempt
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


# --- new-media accounts (新媒体账号备案) and the channel preview -----------------------------

Platform = Literal["wechat", "weibo"]
AccountStatus = Literal["active", "suspended", "closed"]
# the credentials each platform's adapter needs, exactly these keys
CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    "wechat": ("appid", "secret"),
    "weibo": ("access_token",),
}
# optional: the token of the account's message-push (callback) configuration, which signs the
# platform's PUBLISHJOBFINISH notices
OPTIONAL_CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {"wechat": ("callback_token",), "weibo": ()}
CREDENTIAL_MAX = 500
# C0 and C1 control characters (a name or a reason is one line of text)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PLATFORM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
COLUMN_REF_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}/[a-z0-9][a-z0-9-]{0,59}$"
SAFE_DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$"


def printable(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


def credential_problem(platform: str, credentials: dict[str, str]) -> str | None:
    """Why `credentials` cannot be a `platform` account's (wrong keys, empty, oversize or
    control characters in a value), or None; never repeats a value."""
    expected = CREDENTIAL_KEYS[platform]
    optional = OPTIONAL_CREDENTIAL_KEYS[platform]
    if not set(expected) <= set(credentials) <= {*expected, *optional}:
        keys = ", ".join(expected) + (f" (optionally {', '.join(optional)})" if optional else "")
        return f"{platform} credentials are exactly the keys {keys}"
    for key, value in credentials.items():
        if not value.strip() or len(value) > CREDENTIAL_MAX or CONTROL_CHARACTERS.search(value):
            return f"{key} must be 1 to {CREDENTIAL_MAX} printable characters"
    return None


def safe_domain_problem(platform: str, domain: str) -> str | None:
    """Weibo posts must link to the app's registered safe domain: required there."""
    if platform == "weibo" and not domain:
        return "required for a weibo account (the registered safe domain of its links)"
    if domain and not re.match(SAFE_DOMAIN_PATTERN, domain):
        return "must be a domain name such as gov.cn"
    return None


Line = Annotated[str, AfterValidator(printable)]
SiteSlug = Annotated[str, Field(pattern=SLUG_PATTERN)]
ColumnRef = Annotated[str, Field(pattern=COLUMN_REF_PATTERN, description="<site>/<column>")]


class ChannelAccountCreate(_Input):
    """A WeChat official account or Weibo account to register; `credentials` are checked with
    the platform, sealed at rest and never shown again."""

    platform: Platform
    name: Line = Field(min_length=1, max_length=200)
    platform_account_id: str = Field(pattern=PLATFORM_ID_PATTERN)
    # WeChat: defaults to the account's appid; Weibo: the app key (required)
    app_id: str | None = Field(default=None, pattern=PLATFORM_ID_PATTERN, validate_default=True)
    unit: Line = Field(min_length=1, max_length=200)
    sites: list[SiteSlug] = Field(min_length=1, max_length=20)
    default_columns: list[ColumnRef] = Field(default_factory=list, max_length=50)
    credentials: dict[str, str] = Field(max_length=5)
    safe_domain: str = Field(default="", max_length=200, validate_default=True)
    filing_number: Line = Field(default="", max_length=100)
    operator: Line = Field(default="", max_length=200)
    contact: Line = Field(default="", max_length=200)
    # why a second active account of the same platform and unit is allowed (recorded, audited)
    exception_reason: Line | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("app_id")
    @classmethod
    def _app(cls, app_id: str | None, info: ValidationInfo) -> str | None:
        if app_id is None and info.data.get("platform") == "wechat":
            return cast(str | None, info.data.get("platform_account_id"))
        if app_id is None and info.data.get("platform") == "weibo":
            raise ValueError("required for a weibo account (the app key its quotas belong to)")
        return app_id

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, credentials: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        platform = info.data.get("platform")
        problem = credential_problem(platform, credentials) if platform else None
        if problem:
            raise ValueError(problem)
        return credentials

    @field_validator("safe_domain")
    @classmethod
    def _safe_domain(cls, domain: str, info: ValidationInfo) -> str:
        domain = domain.lower()
        problem = safe_domain_problem(info.data.get("platform", ""), domain)
        if problem:
            raise ValueError(problem)
        return domain


class ChannelAccountUpdate(_Input):
    """What an admin may change; new `credentials` are checked with the platform again."""

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    sites: list[SiteSlug] | None = Field(default=None, min_length=1, max_length=20)
    default_columns: list[ColumnRef] | None = Field(default=None, max_length=50)
    credentials: dict[str, str] | None = Field(default=None, max_length=5)
    safe_domain: str | None = Field(default=None, max_length=200)
    filing_number: Line | None = Field(default=None, max_length=100)
    operator: Line | None = Field(default=None, max_length=200)
    contact: Line | None = Field(default=None, max_length=200)


class ChannelAccountStatusChange(_Input):
    """`closed` is final; suspending or closing needs a reason."""

    status: AccountStatus
    reason: Line = Field(default="", max_length=500, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason(cls, reason: str, info: ValidationInfo) -> str:
        if not reason and info.data.get("status") in ("suspended", "closed"):
            raise ValueError("required to suspend or close an account")
        return reason


class ChannelAccountPublic(_Output):
    """A registered account; its credentials are never shown (`credentials_set` says they are
    there)."""

    id: str
    platform: Platform
    name: str
    platform_account_id: str
    app_id: str
    unit: str
    sites: list[str]
    default_columns: list[str]
    credentials_set: bool
    safe_domain: str
    status: AccountStatus
    status_reason: str
    exception_reason: str
    filing_number: str
    operator: str
    contact: str
    created_at: str
    updated_at: str
    closed_at: str | None


class ChannelFindingPublic(_Output):
    """What keeps an item from a platform or an account, for the editor (`reason` in Chinese)."""

    field: str
    code: str
    reason: str


class ChannelVariantPublic(_Output):
    """An item's rendition for one platform, exactly what would be posted."""

    platform: Platform
    variant_hash: str
    content_hash: str
    body: dict[str, Any]
    findings: list[ChannelFindingPublic]
    rendered_at: str


class PreviewAccountPublic(_Output):
    """An account the approved version would go to, and why (`named`, `column`)."""

    id: str
    platform: Platform
    name: str
    unit: str
    via: list[Literal["named", "column"]]
    variant_hash: str | None
    findings: list[ChannelFindingPublic]
    ready: bool = Field(description="no finding of its platform's variant or of the account")


class ChannelPreviewPublic(_Output):
    """What one version would become on the new-media channels, before sign-off: the variant
    per platform, the accounts it would go to, and the named accounts it cannot go to."""

    content_id: str
    version: int
    content_hash: str
    site: str
    variants: dict[str, ChannelVariantPublic]
    accounts: list[PreviewAccountPublic]
    findings: list[ChannelFindingPublic]


# --- the new-media posting plan (GET /api/v1/channels/plan) -----------------------------------


class PlannedPostPublic(_Output):
    """One open post of an account and when it is planned to go."""

    account_id: str
    delivery_id: str
    content_id: str
    version: int
    title: str
    state: str = Field(description="pending | parked")
    planned_at: str = Field(description="when it goes (Asia/Shanghai)")
    reason: str = Field(description="why it waits: a quota window or a platform limit; '' = now")


# --- per-outlet evidence (GET /api/v1/deliveries/outlets/{content_id}) ------------------------

OutletState = Literal[
    "publishing", "live", "not_published", "removing", "removed", "never_received",
    "takedown_failed",
]  # fmt: skip


class OutletEvidencePublic(_Output):
    """One delivery (publication or takedown) of an outlet and the outlet's last answer."""

    delivery_id: str
    version: int
    state: str
    at: str | None = Field(description="when it was delivered, else its last change")
    attempts: int
    status_code: int | None = Field(description="HTTP status of the last attempt")
    error: str
    response: str = Field(description="the platform's recorded answer (JSON text), if any")


class OutletPublic(_Output):
    """One place the item went: a portal column (with its feeds), a webhook receiver, a WeChat
    or Weibo account; `state` is what the outlet holds now."""

    target: str
    channel: str
    name: str
    account_id: str | None
    endpoint_id: str | None
    version: int
    state: OutletState
    post_url: str | None = Field(description="the article page or the platform's post")
    platform_post_id: str | None
    feeds: list[str] = Field(description="a portal column's feed paths (rss, atom, json)")
    publication: OutletEvidencePublic | None
    takedown: OutletEvidencePublic | None


class OutletRetractionPublic(_Output):
    reason: str
    requested_by: str
    at: str
    up_to_version: int


class OutletsPublic(_Output):
    content_id: str
    site: str
    retraction: OutletRetractionPublic | None
    outlets: list[OutletPublic]


class FanoutSpreadPublic(_Output):
    """One outlet kind's deliveries of a release (`all`: every kind together): how many, by
    state, when the first and the last landed, the skew between them and p50/p99 of
    delivered_at - approved_at, in seconds (None while nothing is delivered)."""

    channel: Literal["all", "portal", "webhook", "wechat", "weibo"]
    targets: int
    states: dict[str, int]
    first_delivered_at: str | None
    last_delivered_at: str | None
    skew_seconds: float | None
    p50_seconds: float | None
    p99_seconds: float | None


class FanoutPublic(_Output):
    content_id: str
    version: int
    site: str
    state: str
    approved_at: str
    total: FanoutSpreadPublic
    channels: list[FanoutSpreadPublic]


# --- reprint linkage (转载协同联动) -------------------------------------------------------------

ReprintScope = Literal["children", "descendants", "list"]
ReprintMode = Literal["automatic", "proposed"]
ReprintState = Literal[
    "proposed", "requested", "accepted", "declined", "live", "retraction_requested", "retracted"
]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]


class ReprintRuleCreate(_Input):
    """What `source_site` publishes (of `kind`, or of every kind when null) its lower sites
    reprint on `target_columns` within `deadline_hours` clock hours (weekends count)."""

    source_site: Slug
    kind: ItemKind | None = None
    scope: ReprintScope
    target_sites: list[Slug] = Field(default_factory=list, max_length=200)
    target_columns: list[Slug] = Field(min_length=1, max_length=20)
    mode: ReprintMode = "automatic"
    deadline_hours: int = Field(default=24, ge=1, le=24 * 30)
    active: bool = True


class ReprintRuleUpdate(_Input):
    """A partial change (PATCH); a field left out keeps its value."""

    kind: ItemKind | None = None
    scope: ReprintScope | None = None
    target_sites: list[Slug] | None = Field(default=None, max_length=200)
    target_columns: list[Slug] | None = Field(default=None, min_length=1, max_length=20)
    mode: ReprintMode | None = None
    deadline_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    active: bool | None = None


class ReprintDecline(_Input):
    reason: str = Field(min_length=1, max_length=500)


class ReprintRulePublic(_Output):
    id: str
    source_site: str
    kind: str | None
    scope: str
    target_sites: list[str]
    target_columns: list[str]
    mode: str
    deadline_hours: int
    active: bool
    created_by: str
    created_at: str
    updated_at: str


class ReprintObligationPublic(_Output):
    id: str
    rule_id: str
    original_id: str
    original_version: int
    source_site: str
    site: str
    unit: str
    columns: list[str]
    mode: str
    deadline_hours: int
    state: str
    detail: str
    original_published_at: str
    due_at: str = Field(description="ISO 8601, Asia/Shanghai offset; clock hours, not workdays")
    proposed_at: str | None
    requested_at: str | None
    decided_by: str
    live_at: str | None
    reprint_id: str | None
    warned_at: str | None
    breached_at: str | None


class ReprintReportRowPublic(_Output):
    site: str
    unit: str
    due: int = Field(description="obligations owed: every row below but declined")
    done_in_time: int
    late: int
    missing: int = Field(description="not live and past due")
    pending: int = Field(description="not live, still within the deadline")
    declined: int


class ReprintReportPublic(_Output):
    source_site: str | None
    at: str
    rows: list[ReprintReportRowPublic]
