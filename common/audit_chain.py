"""A hash-chained, append-only audit trail any service can keep in its own database.

Entry n stores `prev_hash` = hash of entry n-1 and `hash` = sha256 over the canonical encoding
(orjson, sorted keys, UTC times with microseconds) of its own fields including `prev_hash`.
Appends lock the single head row, so concurrent writers serialise and the chain never forks.
Verification walks the chain from its base and names the first entry that no longer matches:
an altered row fails its own hash, a removed row leaves a gap in `seq`.

A service declares its two tables in its own metadata (`AuditEntryFields`/`AuditHeadFields`
mixed into its table base, or its own models with the same fields) and binds an `AuditChain`
to them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import orjson
from sqlalchemy import DateTime, Text, delete, select, update
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import dialect_insert, insert_models, table_of
from common.errors import Unprocessable
from common.events import utcnow

GENESIS = "0" * 64
ARCHIVE_FORMAT = "kitchen-audit-archive/1"
ANCHOR_FORMAT = "kitchen-audit-anchor/1"
HEAD_ID = 1


class AuditEntryFields(SQLModel):
    """The columns of one link; mix into a service's table base (`table=True`, base first)."""

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    subject: str = Field(index=True, max_length=100)
    data: str = Field(sa_type=Text)  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHeadFields(SQLModel):
    """The chain's newest (seq, hash) and the base the kept chain starts from, in one row."""

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str = Field(max_length=64)
    base_seq: int = 0
    base_hash: str = Field(max_length=64)


class EntryRow(Protocol):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: str
    prev_hash: str
    hash: str


class HeadRow(Protocol):
    id: int
    seq: int
    hash: str
    base_seq: int
    base_hash: str


E = TypeVar("E", bound=Any)
H = TypeVar("H", bound=Any)


def canonical_time(at: datetime) -> str:
    """One spelling per instant: SQLite hands back naive UTC, PostgreSQL aware datetimes."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_data(data: dict[str, Any]) -> str:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def entry_hash(
    seq: int, at: datetime, actor: str, action: str, subject: str, data: str, prev_hash: str
) -> str:
    fields = {
        "seq": seq,
        "at": canonical_time(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def hash_of(entry: EntryRow) -> str:
    return entry_hash(
        entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.data, entry.prev_hash
    )


def entry_json(entry: EntryRow) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": canonical_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "data": orjson.loads(entry.data),
        "data_canonical": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None = None
    reason: str | None = None
    anchor_seq: int | None = None  # the outside anchor checked against, if any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Anchor:
    """A (seq, hash) of the chain kept outside the database (a file, a ticket, a notary).

    The chain alone only proves it is self-consistent: whoever can write the table can
    recompute every hash after a rewritten row. An anchor taken earlier cannot be recomputed.
    """

    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"format": ANCHOR_FORMAT, "seq": self.seq, "hash": self.hash}


def load_anchor(path: Path) -> Anchor:
    """An anchor file (`… head` output) or an archive, whose header carries its chain head."""
    lines = path.read_bytes().splitlines()
    try:
        first = orjson.loads(lines[0]) if lines else None
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not JSON: {error}") from error
    if isinstance(first, dict) and first.get("format") == ARCHIVE_FORMAT:
        first = first.get("chain_head")
    if not isinstance(first, dict) or not _is_anchor(first.get("seq"), first.get("hash")):
        raise ValueError(f"{path.name} holds no chain head {{seq, hash}}")
    return Anchor(first["seq"], first["hash"])


def _is_anchor(seq: object, digest: object) -> bool:
    return (
        isinstance(seq, int)
        and seq >= 0
        and isinstance(digest, str)
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
    )


_REWRITTEN = "entry {seq} does not match the anchor: the history up to it was rewritten"


def _check(entry: EntryRow, expected_seq: int, expected_prev: str) -> tuple[int, str] | None:
    if entry.seq != expected_seq:
        return expected_seq, f"entry {expected_seq} is missing"
    if entry.prev_hash != expected_prev:
        return entry.seq, "prev_hash does not match the previous entry"
    if hash_of(entry) != entry.hash:
        return entry.seq, "entry content does not match its hash"
    return None


def _against(entry: EntryRow, anchor: Anchor | None) -> tuple[int, str] | None:
    if anchor is None or entry.seq != anchor.seq or entry.hash == anchor.hash:
        return None
    return entry.seq, _REWRITTEN.format(seq=entry.seq)


def _anchor_outside_walk(head: HeadRow, anchor: Anchor | None) -> tuple[int, str] | None:
    """Anchors the walk never reaches: before the kept chain, at its base, or past its head."""
    if anchor is None or anchor.seq > head.base_seq and anchor.seq <= head.seq:
        return None
    if anchor.seq > head.seq:
        return anchor.seq, (
            f"the chain ends at entry {head.seq}, before the anchored entry {anchor.seq}: "
            "entries were removed"
        )
    if anchor.seq < head.base_seq:
        return anchor.seq, (
            f"the anchored entry {anchor.seq} was archived (the kept chain starts after "
            f"{head.base_seq}); verify the anchor against the archive"
        )
    base = head.base_hash if anchor.seq == head.base_seq else None
    return None if base == anchor.hash else (anchor.seq, _REWRITTEN.format(seq=anchor.seq))


@dataclass(frozen=True)
class Record:
    """One entry to append: who did what to which subject, with its details."""

    actor: str
    action: str
    subject: str
    data: dict[str, Any]


class AuditChain(Generic[E, H]):
    """The chain kept in one service's `entry` and `head` tables (its own models)."""

    def __init__(self, entry: type[E], head: type[H]) -> None:
        self.entry = entry
        self.head = head

    def _new_head(self) -> H:
        head: H = self.head(id=HEAD_ID, seq=0, hash=GENESIS, base_seq=0, base_hash=GENESIS)
        return head

    async def ensure_head(self, session: AsyncSession) -> H:
        """The locked head row (created on first use).

        SQLite has no FOR UPDATE: a no-op UPDATE of the head takes its write lock first, so a
        second writer waits before it reads the head instead of appending the same seq. Two
        first appends at once both find no head: each inserts it with ON CONFLICT DO NOTHING,
        then both lock the one row that exists, so the second waits for the first.
        """
        touch = update(self.head).where(self.head.id == HEAD_ID).values(seq=self.head.seq)
        await session.execute(touch)
        query = (
            select(self.head)
            .where(self.head.id == HEAD_ID)
            .with_for_update()
            .execution_options(populate_existing=True)  # appends change the row with core
        )
        head: H | None = (await session.execute(query)).scalar_one_or_none()
        if head is None:
            values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS, "base_seq": 0, "base_hash": GENESIS}
            create = dialect_insert(session, table_of(self.head)).values(**values)
            await session.execute(create.on_conflict_do_nothing())
            created: H = (await session.execute(query)).scalar_one()
            return created
        return head

    async def append(
        self, session: AsyncSession, actor: str, action: str, subject: str, data: dict[str, Any]
    ) -> E:
        """Append one entry in the caller's transaction (committed with the change it records)."""
        (entry,) = await self.append_many(session, [Record(actor, action, subject, data)])
        return entry

    async def append_many(self, session: AsyncSession, records: Sequence[Record]) -> list[E]:
        """Append entries in the given order in the caller's transaction, with one lock of the
        head, one insert and one head update (core statements: an event's handler records
        several entries, and the ORM's flush of each was most of its cost). The returned
        entries are not in the session."""
        seq, prev = await self._lock_head(session)
        at = utcnow()
        entries: list[E] = []
        for record in records:
            seq += 1
            encoded = canonical_data(record.data)
            digest = entry_hash(seq, at, record.actor, record.action, record.subject, encoded, prev)
            entries.append(
                self.entry(
                    seq=seq,
                    at=at,
                    actor=record.actor,
                    action=record.action,
                    subject=record.subject,
                    data=encoded,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        await insert_models(session, entries)
        head = table_of(self.head)
        await session.execute(update(head).where(head.c.id == HEAD_ID).values(seq=seq, hash=prev))
        return entries

    async def _lock_head(self, session: AsyncSession) -> tuple[int, str]:
        """The head's (seq, hash), its row locked until the transaction ends (created on first
        use): an UPDATE takes the row lock on PostgreSQL and the write lock on SQLite before
        anything is read, so concurrent appenders queue here instead of reusing a seq."""
        head = table_of(self.head)
        touch = (
            update(head)
            .where(head.c.id == HEAD_ID)
            .values(seq=head.c.seq)
            .returning(head.c.seq, head.c.hash)
        )
        locked = (await session.execute(touch)).one_or_none()
        if locked is None:
            await self.ensure_head(session)
            locked = (await session.execute(touch)).one()
        return locked.seq, locked.hash

    async def current_anchor(self, session: AsyncSession) -> Anchor:
        """The chain head now, to be stored outside the database."""
        head = (await session.execute(select(self.head))).scalar_one_or_none()
        return Anchor(head.seq, head.hash) if head else Anchor(0, GENESIS)

    async def _entries(
        self, session: AsyncSession, after: int, chunk: int = 1000
    ) -> AsyncIterator[E]:
        entry = self.entry
        while True:
            query = select(entry).where(entry.seq > after).order_by(entry.seq)
            rows = list((await session.execute(query.limit(chunk))).scalars())
            for row in rows:
                yield row
            if len(rows) < chunk:
                return
            after = rows[-1].seq

    async def verify(self, session: AsyncSession, anchor: Anchor | None = None) -> Verification:
        """Walk the kept chain; report the first entry that is missing or no longer matches.

        With an `anchor`, the entry at its seq must also carry its hash: a history rewritten and
        re-hashed consistently passes the walk but fails here, pointing at the anchor.
        """
        head = (await session.execute(select(self.head))).scalar_one_or_none()
        if head is None:
            head = self._new_head()
        pinned = anchor.seq if anchor else None
        problem = _anchor_outside_walk(head, anchor)
        if problem:
            return Verification(False, 0, head.seq, *problem, anchor_seq=pinned)
        expected_seq, expected_prev, checked = head.base_seq + 1, head.base_hash, 0
        async for entry in self._entries(session, head.base_seq):
            problem = _check(entry, expected_seq, expected_prev) or _against(entry, anchor)
            if problem:
                return Verification(False, checked, head.seq, *problem, anchor_seq=pinned)
            checked += 1
            expected_seq, expected_prev = entry.seq + 1, entry.hash
        if expected_seq - 1 != head.seq or expected_prev != head.hash:
            reason = f"chain ends at {expected_seq - 1} but its head is entry {head.seq}"
            return Verification(False, checked, head.seq, expected_seq, reason, pinned)
        return Verification(True, checked, head.seq, anchor_seq=pinned)

    async def history(
        self, session: AsyncSession, subject: str | None, after_seq: int | None, limit: int
    ) -> list[E]:
        entry = self.entry
        query = select(entry).order_by(entry.seq).limit(limit)
        if subject:
            query = query.where(entry.subject == subject)
        if after_seq is not None:
            query = query.where(entry.seq > after_seq)
        return list((await session.execute(query)).scalars())

    async def export(
        self,
        session: AsyncSession,
        before: datetime,
        path: Path,
        *,
        prune: bool = False,
        retention_days: int = 183,
        actor: str = "system",
    ) -> dict[str, Any]:
        """Write entries older than `before` to a JSON Lines archive headed by its chain head.

        With `prune`, the archived entries are removed from the database and the kept chain's
        base moves to the archive's head (only entries older than the retention period may be
        pruned). The export itself is recorded in the chain.
        """
        entry = self.entry
        head = await self.ensure_head(session)
        if prune and (utcnow() - before).days < retention_days:
            raise Unprocessable(
                f"entries younger than {retention_days} days are kept", field="before"
            )
        query = select(entry).where(entry.seq > head.base_seq, entry.at < before)
        rows = list((await session.execute(query.order_by(entry.seq))).scalars())
        # Only a contiguous prefix of the kept chain can become an archive.
        rows = [r for i, r in enumerate(rows) if r.seq == head.base_seq + 1 + i]
        summary = {
            "format": ARCHIVE_FORMAT,
            "from_seq": rows[0].seq if rows else None,
            "to_seq": rows[-1].seq if rows else None,
            "prev_hash": head.base_hash,
            "chain_head": {"seq": rows[-1].seq, "hash": rows[-1].hash} if rows else None,
            "before": canonical_time(before),
            "entries": len(rows),
        }
        lines = [orjson.dumps(summary)] + [orjson.dumps(entry_json(r)) for r in rows]
        body = b"\n".join(lines) + b"\n"
        await asyncio.to_thread(path.write_bytes, body)
        summary["sha256"] = hashlib.sha256(body).hexdigest()
        summary["pruned"] = bool(prune and rows)
        if prune and rows:
            await session.execute(delete(entry).where(entry.seq <= rows[-1].seq))
            head.base_seq, head.base_hash = rows[-1].seq, rows[-1].hash
            session.add(head)
        await self.append(session, actor, "audit.exported", "audit", {**summary, "file": path.name})
        return summary


@dataclass
class _ArchivedEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: str
    prev_hash: str
    hash: str


def verify_archive(path: Path) -> Verification:
    """Check an archive file on its own: every entry's hash and link, and the head it claims."""
    lines = path.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    expected_prev, checked = header["prev_hash"], 0
    for line in lines[1:]:
        raw = orjson.loads(line)
        entry = _ArchivedEntry(
            seq=raw["seq"],
            at=datetime.fromisoformat(raw["at"]),
            actor=raw["actor"],
            action=raw["action"],
            subject=raw["subject"],
            data=raw["data_canonical"],
            prev_hash=raw["prev_hash"],
            hash=raw["hash"],
        )
        problem = _check(entry, header["from_seq"] + checked, expected_prev)
        if problem:
            return Verification(False, checked, header["to_seq"] or 0, *problem)
        checked, expected_prev = checked + 1, entry.hash
    head = header["chain_head"]
    if head and head["hash"] != expected_prev:
        return Verification(False, checked, head["seq"], head["seq"], "archive head mismatch")
    return Verification(True, checked, header["to_seq"] or 0)
