"""Column helpers shared by every service's models (one definition of a timestamp column)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlmodel import Field

__all__ = ["as_utc", "timestamp_column", "timestamp_field"]


def timestamp_column(*, nullable: bool = False, index: bool = False) -> Column[Any]:
    """A timezone-aware timestamp column (`timestamptz` on PostgreSQL)."""
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


def timestamp_field(*, nullable: bool = False, index: bool = False) -> Any:
    """A SQLModel field over `timestamp_column`; nullable fields default to None."""
    column = timestamp_column(nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(sa_column=column)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime: SQLite hands them back naive, and
    everything we store is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
