"""`Idempotency-Key` on creating POSTs: a retry with the same key and body replays the first
answer; the same key with another body is a 422.

Concurrency: the key is *claimed* first, in its own short committed transaction (a row with
`status_code = 0`), before the request writes anything. A second request with the same key then
hits the primary key instead of racing the first through the pipeline: it waits (polling) for the
first to finish and replays its answer, or, if the first is still running after `wait_seconds`,
gets a 409 "request with this key in progress" (with `Retry-After`). The first request fills the
record in its own transaction (`complete`), so the answer and its effects commit together; if it
fails, `release` deletes the claim so a retry can run. A claim left by a crashed process is taken
over once it is older than `stale_seconds`; the claim's timestamp is its token, so a request whose
claim was taken over cannot complete it (409, its effects roll back) — never a double write.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import Database
from common.errors import Conflict, Unprocessable
from common.events import utcnow
from services.ingest.models_intake import IdempotencyRecord

HEADER = "Idempotency-Key"
PENDING = 0
POLL_SECONDS = 0.05


@dataclass
class Replay:
    status_code: int
    body: bytes


@dataclass
class Claim:
    """This request owns the key; `token` (the claim's timestamp) proves it when completing."""

    actor: str
    key: str
    token: datetime


def request_hash(body: bytes, path: str) -> str:
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def in_progress() -> Conflict:
    return Conflict("request with this key in progress", field=HEADER, headers={"Retry-After": "1"})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _record(actor: str, key: str, digest: str, token: datetime) -> IdempotencyRecord:
    return IdempotencyRecord(
        actor=actor,
        key=key,
        request_hash=digest,
        status_code=PENDING,
        response=b"",
        created_at=token,
    )


async def _try_insert(database: Database, actor: str, key: str, digest: str) -> Claim | None:
    token = utcnow()
    try:
        async with database.sessions() as session:
            session.add(_record(actor, key, digest, token))
            await session.commit()
    except IntegrityError:
        return None
    except OperationalError as error:  # SQLite: the writer lock stayed busy past busy_timeout
        raise in_progress() from error
    return Claim(actor, key, token)


async def _take_over(database: Database, record: IdempotencyRecord, digest: str) -> Claim | None:
    """Replace a stale pending claim (its process died) with ours, if nobody else did first."""
    token = utcnow()
    async with database.sessions() as session:
        result = await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.actor == record.actor,
                IdempotencyRecord.key == record.key,
                IdempotencyRecord.status_code == PENDING,
                IdempotencyRecord.created_at == record.created_at,
            )
            .values(created_at=token, request_hash=digest)
        )
        await session.commit()
    return Claim(record.actor, record.key, token) if result.rowcount == 1 else None


async def claim(
    database: Database,
    actor: str,
    key: str,
    digest: str,
    *,
    wait_seconds: float,
    stale_seconds: float,
) -> Claim | Replay:
    """Own the key (→ `Claim`), or the first request's answer (→ `Replay`); 422 for another
    request under the same key; 409 while the first is still running after `wait_seconds`."""
    if len(key) > 200:
        raise Unprocessable("Idempotency-Key longer than 200 characters", field=HEADER)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        owned = await _try_insert(database, actor, key, digest)
        if owned is not None:
            return owned
        async with database.sessions() as session:
            record = await session.get(IdempotencyRecord, (actor, key))
        if record is None:  # the first attempt failed and released the key: try again
            continue
        if record.request_hash != digest:
            raise Unprocessable("Idempotency-Key was used with a different request", field=HEADER)
        if record.status_code != PENDING:
            return Replay(record.status_code, record.response)
        if utcnow() - _aware(record.created_at) > timedelta(seconds=stale_seconds):
            taken = await _take_over(database, record, digest)
            if taken is not None:
                return taken
            continue
        if loop.time() >= deadline:
            raise in_progress()
        await asyncio.sleep(POLL_SECONDS)


async def complete(session: AsyncSession, owned: Claim, status_code: int, body: bytes) -> None:
    """Store the answer in the request's own transaction (it commits with the effects)."""
    result = await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.actor == owned.actor,
            IdempotencyRecord.key == owned.key,
            IdempotencyRecord.status_code == PENDING,
            IdempotencyRecord.created_at == owned.token,
        )
        .values(status_code=status_code, response=body)
    )
    if result.rowcount != 1:  # taken over as stale while this request ran: do not write twice
        raise in_progress()


async def release(database: Database, owned: Claim) -> None:
    """Give the key back after a failed attempt (best effort; a stale claim expires anyway)."""
    async with database.sessions() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.actor == owned.actor,
                IdempotencyRecord.key == owned.key,
                IdempotencyRecord.status_code == PENDING,
                IdempotencyRecord.created_at == owned.token,
            )
        )
        await session.commit()
