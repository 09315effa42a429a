"""The review service's hash-chained, append-only audit trail.

The chain mechanism (canonical encoding, hash-linking, locking the head, verification, anchors,
archives) is `common.audit_chain`; this module binds it to the review tables `audit_entry` and
`audit_head` and keeps the names the review code calls.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.audit_chain import (
    ANCHOR_FORMAT,
    ARCHIVE_FORMAT,
    GENESIS,
    Anchor,
    AuditChain,
    Record,
    Verification,
    canonical_data,
    canonical_time,
    entry_hash,
    entry_json,
    hash_of,
    load_anchor,
    verify_archive,
)
from common.pagination import decode_cursor, encode_cursor
from services.review.models import AuditEntry, AuditHead, ReviewTask

CHAIN: AuditChain[AuditEntry, AuditHead] = AuditChain(AuditEntry, AuditHead)

ensure_head = CHAIN.ensure_head
append = CHAIN.append
append_many = CHAIN.append_many
current_anchor = CHAIN.current_anchor
verify = CHAIN.verify
history = CHAIN.history
export = CHAIN.export


async def history_within(
    session: AsyncSession,
    sites: list[str] | None,
    subject: str | None,
    after_seq: int | None,
    limit: int,
) -> list[AuditEntry]:
    """The trail as a caller scoped to `sites` (None = every site) may see it.

    Entries carry no site: a scoped caller sees the entries whose subject is an item reviewed
    for one of its sites; lexicon and policy changes, which are global, are left out.
    """
    if sites is None:
        return await CHAIN.history(session, subject, after_seq, limit)
    items = select(ReviewTask.content_id).where(col(ReviewTask.site).in_(sites))
    query = (
        select(AuditEntry)
        .where(col(AuditEntry.subject).in_(items))
        .order_by(col(AuditEntry.seq))
        .limit(limit)
    )
    if subject:
        query = query.where(col(AuditEntry.subject) == subject)
    if after_seq is not None:
        query = query.where(col(AuditEntry.seq) > after_seq)
    return list((await session.exec(query)).all())


async def history_page(
    session: AsyncSession,
    sites: list[str] | None,
    subject: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A page of `history_within`, oldest first; the cursor is the last entry's seq."""
    after = decode_cursor(cursor)
    after_seq = int(after) if after else None
    rows = await history_within(session, sites, subject, after_seq, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [entry_json(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1].seq) if more else None,
    }


__all__ = [
    "ANCHOR_FORMAT",
    "ARCHIVE_FORMAT",
    "CHAIN",
    "GENESIS",
    "Record",
    "Anchor",
    "Verification",
    "append",
    "append_many",
    "canonical_data",
    "canonical_time",
    "current_anchor",
    "ensure_head",
    "entry_hash",
    "entry_json",
    "export",
    "hash_of",
    "history",
    "history_page",
    "history_within",
    "load_anchor",
    "verify",
    "verify_archive",
]
