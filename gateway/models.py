"""The gateway's own tables: staff users, API keys, their audit chain (no services' data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.audit_chain import AuditEntryFields, AuditHeadFields
from common.columns import timestamp_field
from common.db import new_metadata

metadata = new_metadata()


class GatewayTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the gateway's tables."""


class StaffUser(GatewayTable, table=True):
    __tablename__ = "staff_user"

    id: str = Field(primary_key=True, max_length=64)  # the login name
    display_name: str
    password_hash: str
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    sites: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    department: str | None = None
    active: bool = True
    created_at: datetime = timestamp_field()
    # None = the password set at creation (its age counts from created_at).
    password_changed_at: datetime | None = timestamp_field(nullable=True)


class PasswordHistory(GatewayTable, table=True):
    """A password hash a user had before; the newest few cannot be chosen again."""

    __tablename__ = "password_history"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=64, index=True)
    password_hash: str
    replaced_at: datetime = timestamp_field()


class LoginThrottle(GatewayTable, table=True):
    """Failed logins counted per login name (existing or not) and per client address.

    In the database, so every gateway process sees the same counts. `key` is `account:<name>`
    or `address:<ip>`; accounts count consecutive failures and get `locked_until`, addresses
    count failures since `window_started_at`.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_started_at: datetime = timestamp_field()
    locked_until: datetime | None = timestamp_field(nullable=True)


class ApiKey(GatewayTable, table=True):
    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=32)
    name: str
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site: str | None = None
    created_by: str
    created_at: datetime = timestamp_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)
    last_used_at: datetime | None = timestamp_field(nullable=True)


class AuditEntry(GatewayTable, AuditEntryFields, table=True):
    """One link of the gateway's audit chain (accounts and keys); never updated or deleted."""

    __tablename__ = "audit_entry"


class AuditHead(GatewayTable, AuditHeadFields, table=True):
    """The gateway chain's newest (seq, hash); locked by every append."""

    __tablename__ = "audit_head"
