"""Writing an item's search rows: FTS5 on SQLite, a tsvector column on PostgreSQL.

Two indexes of the same shape: `STAFF` (every item's current version, what staff search sees)
and `PUBLIC` (each item's last *published* version, what portal search sees — an edit after
publication changes only the staff row until the new version is published).

The tokens are computed in Python (see `tokens.py`) and handed to each database *as tokens*:
FTS5's `unicode61` tokenizer only splits them on spaces, and PostgreSQL gets a tsvector literal
cast directly (its parser never sees Chinese, so locale does not matter). Both therefore index
exactly the same tokens and a query means the same thing on both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Date, bindparam, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.ingest.models import PublishedSearchDoc, SearchDoc

# PostgreSQL stores positions up to 16383; later tokens share the last position (a phrase that far
# into a very long document may then fail to match — see docs/ARCHITECTURE.md).
PG_MAX_POSITION = 16383
WORD_PREFIX = "w_"

FTS5_DDL = (
    "CREATE VIRTUAL TABLE {table} USING fts5("
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


@dataclass(frozen=True)
class Scope:
    """A search index: its row table and, on SQLite, its FTS5 table (rowid = row id)."""

    model: type[SearchDoc] | type[PublishedSearchDoc]
    fts: str

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


STAFF = Scope(SearchDoc, "content_fts")  # every item's current version
PUBLIC = Scope(PublishedSearchDoc, "published_fts")  # each item's last published version


async def _row(
    session: AsyncSession, scope: Scope, content_id: str, doc_date: date | None, folded_title: str
) -> SearchDoc | PublishedSearchDoc:
    model = scope.model
    found = await session.exec(select(model).where(col(model.content_id) == content_id))
    row = cast(SearchDoc | PublishedSearchDoc | None, found.one_or_none())  # select(a union)
    if row is None:
        if model is PublishedSearchDoc:
            row = PublishedSearchDoc(
                content_id=content_id, doc_date=doc_date, folded_title=folded_title, version=0
            )
        else:
            row = SearchDoc(content_id=content_id, doc_date=doc_date, folded_title=folded_title)
    row.doc_date, row.folded_title = doc_date, folded_title
    return row


async def insert_fts(
    session: AsyncSession,
    scope: Scope,
    row_id: int | None,
    title: list[str],
    body: list[str],
    words: list[str],
) -> None:
    """SQLite: the FTS5 row (rowid = the search row's id) of the given tokens."""
    await session.execute(
        text(f"INSERT INTO {scope.fts}(rowid, title, grams, words) VALUES (:id, :t, :g, :w)"),
        {"id": row_id, "t": " ".join(title), "g": " ".join(body), "w": " ".join(words)},
    )


async def upsert(
    session: AsyncSession,
    content_id: str,
    doc_date: date,
    folded_title: str,
    title: list[str],
    body: list[str],
    words: list[str],
    scope: Scope = STAFF,
    version: int | None = None,
) -> None:
    """Create or replace the item's search row in `scope` with the given tokens."""
    row = await _row(session, scope, content_id, doc_date, folded_title)
    if version is not None and isinstance(row, PublishedSearchDoc):
        row.version = version
    session.add(row)
    await session.flush()
    if is_sqlite(session):
        await session.execute(text(f"DELETE FROM {scope.fts} WHERE rowid = :id"), {"id": row.id})
        await insert_fts(session, scope, row.id, title, body, words)
    else:
        await session.execute(
            text(f"UPDATE {scope.table} SET tsv = CAST(:v AS tsvector) WHERE id = :id"),
            {"id": row.id, "v": tsvector_literal(title, body, words)},
        )


async def insert_new(
    session: AsyncSession,
    content_id: str,
    doc_date: date,
    folded_title: str,
    title: list[str],
    body: list[str],
    words: list[str],
) -> None:
    """The staff search row of an item that has none yet (a new item): one insert of the row
    with its tokens — no look-up, nothing to delete, no second write of the row."""
    row = {"c": content_id, "d": doc_date, "t": folded_title}
    if is_sqlite(session):
        inserted = await session.execute(
            text(
                "INSERT INTO search_doc (content_id, doc_date, folded_title)"
                " VALUES (:c, :d, :t) RETURNING id"
            ).bindparams(bindparam("d", type_=Date)),
            row,
        )
        await insert_fts(session, STAFF, inserted.scalar_one(), title, body, words)
    else:
        await session.execute(
            text(
                "INSERT INTO search_doc (content_id, doc_date, folded_title, tsv)"
                " VALUES (:c, :d, :t, CAST(:v AS tsvector))"
            ).bindparams(bindparam("d", type_=Date)),
            {**row, "v": tsvector_literal(title, body, words)},
        )


async def publish_current(session: AsyncSession, content_id: str, version: int) -> bool:
    """Copy the item's staff search row (its current version) to its public row; False if the
    item has no staff row. The tokens are copied inside the database, not recomputed."""
    staff = (
        await session.exec(select(SearchDoc).where(col(SearchDoc.content_id) == content_id))
    ).one_or_none()
    if staff is None:
        return False
    row = await _row(session, PUBLIC, content_id, staff.doc_date, staff.folded_title)
    assert isinstance(row, PublishedSearchDoc)
    row.version = version
    session.add(row)
    await session.flush()
    ids = {"id": row.id, "sid": staff.id}
    if is_sqlite(session):
        await session.execute(text("DELETE FROM published_fts WHERE rowid = :id"), ids)
        await session.execute(
            text(
                "INSERT INTO published_fts(rowid, title, grams, words) "
                "SELECT :id, title, grams, words FROM content_fts WHERE rowid = :sid"
            ),
            ids,
        )
    else:
        await session.execute(
            text(
                "UPDATE published_search_doc SET tsv = (SELECT tsv FROM search_doc WHERE id = :sid)"
                " WHERE id = :id"
            ),
            ids,
        )
    return True


async def remove(session: AsyncSession, content_id: str, scope: Scope) -> None:
    """Drop the item's row from `scope` (a retracted item leaves public search at once)."""
    model = scope.model
    found = await session.exec(select(model).where(col(model.content_id) == content_id))
    row = cast(SearchDoc | PublishedSearchDoc | None, found.one_or_none())  # select(a union)
    if row is None:
        return
    if is_sqlite(session):
        await session.execute(text(f"DELETE FROM {scope.fts} WHERE rowid = :id"), {"id": row.id})
    await session.delete(row)  # PostgreSQL: the tsvector goes with the row
    await session.flush()
