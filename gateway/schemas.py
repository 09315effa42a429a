"""What the gateway's own API accepts and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["content:submit", "content:read", "cases:submit", "cases:read"]
SiteName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    roles: list[str]


class PasswordChange(BaseModel):
    """A new password for whoever knows the current one (the way out of an expired password)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)
    site: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    site: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key; shown only in this response.")


class StaffUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    roles: list[
        Literal["admin", "editor", "reviewer", "confidentiality", "override", "office", "handler"]
    ] = Field(min_length=1)
    sites: list[SiteName] | None = Field(
        default=None,
        description="Sites the account may act on; omitted = every site (global admins only).",
    )
    department: str | None = None


class StaffUserOut(BaseModel):
    id: str
    display_name: str
    roles: list[str]
    sites: list[str] | None
    department: str | None
    active: bool


class ContentWithHistory(BaseModel):
    """A library item as ingest answers it (every field of ingest's item), with what review and
    distribute know of it; a list is null when its service could not be asked."""

    model_config = ConfigDict(extra="allow")

    id: str
    reviews: list[dict[str, Any]] | None = Field(
        default=None, description="the review tasks of the item (review service)"
    )
    deliveries: list[dict[str, Any]] | None = Field(
        default=None, description="the item's deliveries per target (distribute service)"
    )
