"""Fetching one row by its key, or answering 404 naming the parameter that pointed at nothing."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound

__all__ = ["get_or_404"]

RowT = TypeVar("RowT")


async def get_or_404(
    session: AsyncSession,
    model: type[RowT],
    key: Any,
    *,
    detail: str,
    field: str = "id",
    for_update: bool = False,
) -> RowT:
    """The row of `model` with primary key `key`; `NotFound(detail, field=field)` if none."""
    row = await session.get(model, key, with_for_update=for_update)
    if row is None:
        raise NotFound(detail, field=field)
    return row
