"""Column helpers shared by every service's models (one definition of a timestamp column)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime
from sqlmodel import Field

__all__ = ["timestamp_column", "timestamp_field"]


def timestamp_column(*, nullable: bool = False, index: bool = False) -> Column[Any]:
    """A timezone-aware timestamp column (`timestamptz` on PostgreSQL)."""
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


def timestamp_field(*, nullable: bool = False, index: bool = False) -> Any:
    """A SQLModel field over `timestamp_column`; nullable fields default to None."""
    column = timestamp_column(nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(sa_column=column)
