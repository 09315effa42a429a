"""`Idempotency-Key` on creating POSTs: a retry with the same key and body replays the first
answer; the same key with another body is a 422. The record is written in the request's own
transaction, so the answer and its effects commit together."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Unprocessable
from common.events import utcnow
from services.ingest.models_intake import IdempotencyRecord

HEADER = "Idempotency-Key"


@dataclass
class Replay:
    status_code: int
    body: bytes


def request_hash(body: bytes, path: str) -> str:
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


async def lookup(session: AsyncSession, actor: str, key: str, digest: str) -> Replay | None:
    if len(key) > 200:
        raise Unprocessable("Idempotency-Key longer than 200 characters", field=HEADER)
    record = await session.get(IdempotencyRecord, (actor, key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise Unprocessable("Idempotency-Key was used with a different request", field=HEADER)
    return Replay(record.status_code, record.response)


def remember(
    session: AsyncSession, actor: str, key: str, digest: str, status_code: int, body: bytes
) -> None:
    session.add(
        IdempotencyRecord(
            actor=actor,
            key=key,
            request_hash=digest,
            status_code=status_code,
            response=body,
            created_at=utcnow(),
        )
    )
