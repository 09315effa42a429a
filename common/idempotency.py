"""`Idempotency-Key` on creating requests, for any service: declare the table in the service's
metadata with `idempotency_table`, keep one `IdempotencyStore`, wrap the handler's work in
`respond`.

A retry with the same key and request replays the first answer (`Idempotent-Replayed: true`);
the same key with another request is a 422. The key is *claimed* first, in its own short
committed transaction (a row with `status_code = 0`), before the request writes anything, so a
concurrent duplicate waits for the first answer (409 with `Retry-After` after `wait_seconds`)
instead of racing it. The answer is stored in the request's own transaction, so it commits with
its effects; a failed request releases the key so a retry runs afresh (refusals are not
remembered). A claim left by a crashed process is taken over after `stale_seconds`; the claim's
timestamp is its token, so a request whose claim was taken over cannot complete (409, rolled
back) — never a double write.

The table has the shape of ingest's `idempotency_record` (services/ingest/idempotency.py holds
the same algorithm over its own model), so ingest can move onto this module without a schema
change.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Response
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import Database
from common.errors import Conflict, Unprocessable
from common.events import utcnow
from common.responses import dumps

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 200
PENDING = 0
POLL_SECONDS = 0.05


def idempotency_table(metadata: MetaData) -> Table:
    """Declare `idempotency_record` in a service's own metadata (its migrations create it)."""
    return Table(
        "idempotency_record",
        metadata,
        Column("actor", String(100), primary_key=True),
        Column("key", String(MAX_KEY_CHARS), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


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


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def in_progress() -> Conflict:
    return Conflict("request with this key in progress", field=HEADER, headers={"Retry-After": "1"})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class IdempotencyStore:
    """Claims, completes and releases keys in one service's `idempotency_record` table."""

    def __init__(self, table: Table, wait_seconds: float = 10.0, stale_seconds: float = 120.0):
        self.table = table
        self.wait_seconds = wait_seconds
        self.stale_seconds = stale_seconds

    def _owned_by(self, owned: Claim) -> Any:
        c = self.table.c
        return (
            (c.actor == owned.actor)
            & (c.key == owned.key)
            & (c.status_code == PENDING)
            & (c.created_at == owned.token)
        )

    async def _try_insert(self, database: Database, actor: str, key: str, digest: str) -> Any:
        token = utcnow()
        values = {"actor": actor, "key": key, "request_hash": digest, "created_at": token}
        try:
            async with database.sessions() as session:
                await session.execute(
                    insert(self.table).values(**values, status_code=PENDING, response=b"")
                )
                await session.commit()
        except IntegrityError:
            return None
        except OperationalError as error:  # SQLite: the writer lock stayed busy past its timeout
            raise in_progress() from error
        return Claim(actor, key, token)

    async def _take_over(self, database: Database, record: Any, digest: str) -> Claim | None:
        """Replace a stale pending claim (its process died) with ours, if nobody did first."""
        stale = Claim(record.actor, record.key, record.created_at)
        token = utcnow()
        async with database.sessions() as session:
            result = await session.execute(
                update(self.table)
                .where(self._owned_by(stale))
                .values(created_at=token, request_hash=digest)
            )
            await session.commit()
        return Claim(record.actor, record.key, token) if result.rowcount == 1 else None  # type: ignore[attr-defined]

    async def _read(self, database: Database, actor: str, key: str) -> Any:
        c = self.table.c
        async with database.sessions() as session:
            query = select(self.table).where(c.actor == actor, c.key == key)
            return (await session.execute(query)).first()

    async def claim(self, database: Database, actor: str, key: str, digest: str) -> Claim | Replay:
        """Own the key (→ `Claim`) or get the first answer (→ `Replay`); 422 for another request
        under the same key; 409 while the first is still running after `wait_seconds`."""
        if not key or len(key) > MAX_KEY_CHARS:
            raise Unprocessable(f"{HEADER} must have 1–{MAX_KEY_CHARS} characters", field=HEADER)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while True:
            owned = await self._try_insert(database, actor, key, digest)
            if owned is not None:
                return owned  # type: ignore[no-any-return]
            record = await self._read(database, actor, key)
            if record is None:  # the first attempt failed and released the key: try again
                continue
            if record.request_hash != digest:
                raise Unprocessable(f"{HEADER} was used with a different request", field=HEADER)
            if record.status_code != PENDING:
                return Replay(record.status_code, record.response)
            if utcnow() - _aware(record.created_at) > timedelta(seconds=self.stale_seconds):
                taken = await self._take_over(database, record, digest)
                if taken is not None:
                    return taken
                continue
            if loop.time() >= deadline:
                raise in_progress()
            await asyncio.sleep(POLL_SECONDS)

    async def complete(self, session: AsyncSession, owned: Claim, status: int, body: bytes) -> None:
        """Store the answer in the request's own transaction (it commits with the effects)."""
        result = await session.execute(
            update(self.table)
            .where(self._owned_by(owned))
            .values(status_code=status, response=body)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise in_progress()  # taken over as stale while this request ran: never write twice

    async def release(self, database: Database, owned: Claim) -> None:
        """Give the key back after a failed attempt (best effort; a stale claim expires anyway)."""
        async with database.sessions() as session:
            await session.execute(delete(self.table).where(self._owned_by(owned)))
            await session.commit()

    async def respond(
        self,
        database: Database,
        session: AsyncSession,
        actor: str,
        key: str | None,
        digest: str,
        act: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> Response:
        """Run `act` (→ status, JSON payload) once per key: replay, refuse, or run and remember."""
        if key is None:
            status, payload = await act()
            return Response(dumps(payload), status_code=status, media_type="application/json")
        claimed = await self.claim(database, actor, key, digest)
        if isinstance(claimed, Replay):
            return Response(
                claimed.body,
                status_code=claimed.status_code,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            status, payload = await act()
            body = dumps(payload)
            await self.complete(session, claimed, status, body)
            await session.commit()  # here, so a failed commit still releases the key below
        except BaseException:
            await session.rollback()
            await self.release(database, claimed)
            raise
        return Response(body, status_code=status, media_type="application/json")
