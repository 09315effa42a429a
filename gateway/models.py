"""The gateway's own tables: staff users, API keys, their audit chain (no services' data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.audit_chain import AuditEntryFields, AuditHeadFields
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
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ApiKey(GatewayTable, table=True):
    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=32)
    name: str
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site: str | None = None
    created_by: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class AuditEntry(GatewayTable, AuditEntryFields, table=True):
    """One link of the gateway's audit chain (accounts and keys); never updated or deleted."""

    __tablename__ = "audit_entry"


class AuditHead(GatewayTable, AuditHeadFields, table=True):
    """The gateway chain's newest (seq, hash); locked by every append."""

    __tablename__ = "audit_head"
