"""Writing an item's search row: FTS5 on SQLite, a tsvector column on PostgreSQL.

The tokens are computed in Python (see `tokens.py`) and handed to each database *as tokens*:
FTS5's `unicode61` tokenizer only splits them on spaces, and PostgreSQL gets a tsvector literal
cast directly (its parser never sees Chinese, so locale does not matter). Both therefore index
exactly the same tokens and a query means the same thing on both.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.ingest.models import SearchDoc

# PostgreSQL stores positions up to 16383; later tokens share the last position (a phrase that far
# into a very long document may then fail to match — see docs/ARCHITECTURE.md).
PG_MAX_POSITION = 16383
WORD_PREFIX = "w_"

FTS5_DDL = (
    "CREATE VIRTUAL TABLE content_fts USING fts5("
    "title, grams, words, tokenize = 'unicode61 remove_diacritics 0')"
)


def is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def tsvector_literal(title: list[str], body: list[str], words: list[str]) -> str:
    """`'tok':1A,5 …`: title grams weight A, body grams D, jieba words B (prefixed `w_`)."""
    positions: dict[str, list[str]] = defaultdict(list)
    pos = 0
    for weight, tokens in (("A", title), ("", body)):
        for token in tokens:
            pos = min(pos + 1, PG_MAX_POSITION)
            positions[token].append(f"{pos}{weight}")
        pos = min(pos + 1, PG_MAX_POSITION)
    for i, word in enumerate(words, start=1):
        positions[WORD_PREFIX + word].append(f"{min(i, PG_MAX_POSITION)}B")
    # A lexeme keeps at most 256 positions in PostgreSQL; keep the first ones.
    return " ".join(f"'{t}':{','.join(p[:256])}" for t, p in positions.items())


async def upsert(
    session: AsyncSession,
    content_id: str,
    doc_date: date,
    folded_title: str,
    title: list[str],
    body: list[str],
    words: list[str],
) -> None:
    """Create or replace the item's search row with the given tokens."""
    row = (
        await session.execute(select(SearchDoc).where(SearchDoc.content_id == content_id))
    ).scalar_one_or_none()
    if row is None:
        row = SearchDoc(content_id=content_id, doc_date=doc_date, folded_title=folded_title)
    row.doc_date, row.folded_title = doc_date, folded_title
    session.add(row)
    await session.flush()
    if is_sqlite(session):
        await session.execute(text("DELETE FROM content_fts WHERE rowid = :id"), {"id": row.id})
        await session.execute(
            text("INSERT INTO content_fts(rowid, title, grams, words) VALUES (:id, :t, :g, :w)"),
            {"id": row.id, "t": " ".join(title), "g": " ".join(body), "w": " ".join(words)},
        )
    else:
        await session.execute(
            text("UPDATE search_doc SET tsv = CAST(:v AS tsvector) WHERE id = :id"),
            {"id": row.id, "v": tsvector_literal(title, body, words)},
        )
