"""Reading what the service stored: outbox events, rows."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy import func, select

from services.interaction.models import tables


async def outbox(app: FastAPI, topic_prefix: str = "case.") -> list[dict[str, Any]]:
    """Every outbox event of the prefix, oldest first, as (topic, key, data)."""
    async with app.state.db.engine.connect() as conn:
        rows = (await conn.execute(select(tables.outbox).order_by(tables.outbox.c.id))).all()
    return [
        {"topic": r.topic, "key": r.key, **orjson.loads(r.payload)["data"]}
        for r in rows
        if r.topic.startswith(topic_prefix)
    ]


async def count(app: FastAPI, table: Any) -> int:
    async with app.state.db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
