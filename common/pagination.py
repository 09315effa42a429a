"""Opaque cursors for keyset pagination: `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field

from common.errors import BadRequest

MAX_LIMIT = 200
ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list: `next_cursor` is null on the last page (pass it back as `cursor`)."""

    items: list[ItemT]
    next_cursor: str | None = Field(default=None, description="the next page's cursor, if any")


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor stands for; a garbled cursor is a 400 naming the field."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as error:
        raise BadRequest("invalid cursor", field="cursor") from error


def page(items: list[Any], limit: int, position_of: Any) -> dict[str, Any]:
    """Build a page from `limit + 1` fetched rows; the extra row only says there is more."""
    has_more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(position_of(items[-1])) if has_more and items else None
    return {"items": items, "next_cursor": next_cursor}
