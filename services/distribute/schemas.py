"""What the distribute API accepts and returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from services.distribute.webhooks import WEBHOOK_EVENTS, valid_secret

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
# 网站标识码: 6-digit region code + 4-digit serial, or `bm` + 8 digits for central ministries.
SITE_ID_CODE_PATTERN = r"^(\d{10}|bm\d{8})$"
DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}(:\d{1,5})?$"
ColumnType = Literal["news", "notice", "policy", "interpretation", "interview", "other"]
WebhookEvent = Literal["content.published", "content.retracted"]


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
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WEBHOOK_EVENTS), min_length=1)
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
