"""Full-text search of published cases and the knowledge base, the same on SQLite and PostgreSQL.

Chinese has no spaces, and the common query is two characters (docs/ceilings.md), so the index
holds the character bigrams of each run of hanzi of the Simplified-folded, lower-cased text,
plus each run's last character (single-character queries and runs that end mid-query still
match), plus whole Latin/digit words. The tokens are computed here and handed to each database
*as tokens*: FTS5's `unicode61` tokenizer only splits them on spaces, and PostgreSQL gets a
tsvector literal cast directly (its parser never sees Chinese). Both therefore index exactly the
same tokens.

- Filtering (the public case list): every whitespace-separated term must occur as a substring
  — a *phrase* of its bigrams, using the index's positions.
- Ranking (knowledge suggestions): any bigram of the text may match; the index scores the
  matches (bm25 on SQLite, ts_rank on PostgreSQL) within a bounded window of candidates.

The tokenizer is `common/search_tokens.py`, shared with ingest's library search.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from common.search_tokens import HAN, Term, fold, index_grams

MAX_ANY_GRAMS = 48  # a suggestion query is at most this many distinct bigrams
# PostgreSQL keeps positions up to 16383 and at most 256 positions per lexeme.
PG_MAX_POSITION = 16383


def tokens(value: str) -> list[str]:
    """The index token stream of a text, in order."""
    return index_grams(fold(value))


def any_grams(value: str) -> list[str]:
    """The distinct bigrams (and words) of a text, in order of first occurrence, bounded."""
    seen = dict.fromkeys(t for t in tokens(value) if len(t) > 1 or not HAN.match(t))
    return list(seen)[:MAX_ANY_GRAMS]


# --- per dialect ---------------------------------------------------------------------------


def is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def fts5_all(terms: Sequence[Term]) -> str:
    """`"g1 g2" AND "g3"*` — tokens are [a-z0-9] or hanzi only, so nothing needs escaping."""
    return " AND ".join('"' + " ".join(t.grams) + '"' + ("*" if t.prefix else "") for t in terms)


def tsquery_all(terms: Sequence[Term]) -> str:
    parts = []
    for term in terms:
        grams = [f"'{g}'" for g in term.grams]
        if term.prefix:
            grams[-1] += ":*"
        parts.append("(" + " <-> ".join(grams) + ")")
    return " & ".join(parts)


def fts5_any(grams: Iterable[str]) -> str:
    return " OR ".join(f'"{g}"' for g in grams)


def tsquery_any(grams: Iterable[str]) -> str:
    return " | ".join(f"'{g}'" for g in grams)


def fts5_columns(*fields: str) -> list[str]:
    """Each field as the space-separated token text FTS5 indexes."""
    return [" ".join(tokens(f)) for f in fields]


def tsvector_literal(weighted: Sequence[tuple[str, str]]) -> str:
    """`'tok':1A,5 …` over (weight, text) fields; a gap between fields stops phrases crossing."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for weight, value in weighted:
        for token in tokens(value):
            pos = min(pos + 1, PG_MAX_POSITION)
            positions.setdefault(token, []).append(f"{pos}{weight}")
        pos = min(pos + 1, PG_MAX_POSITION)
    return " ".join(f"'{t}':{','.join(p[:256])}" for t, p in positions.items())


# --- writing the index ---------------------------------------------------------------------


async def index_publication(
    session: AsyncSession, case_id: str, title: str, body: str, reply: str
) -> None:
    """Index an approved publication's masked text (never the sealed original)."""
    if is_sqlite(session):
        # once per publication: an approved rendition is never edited again
        t, b, r = fts5_columns(title, body, reply)
        await session.execute(
            text(
                "INSERT INTO publication_fts(case_id, title, body, reply) VALUES (:id, :t, :b, :r)"
            ),
            {"id": case_id, "t": t, "b": b, "r": r},
        )
    else:
        vector = tsvector_literal([("A", title), ("B", body), ("B", reply)])
        await session.execute(
            text("UPDATE publication SET tsv = CAST(:v AS tsvector) WHERE case_id = :id"),
            {"id": case_id, "v": vector},
        )


async def index_knowledge(
    session: AsyncSession, entry_id: int, question: str, tags: list[str], answer: str
) -> None:
    joined = " ".join(tags)
    if is_sqlite(session):
        await session.execute(text("DELETE FROM knowledge_fts WHERE rowid = :id"), {"id": entry_id})
        q, t, a = fts5_columns(question, joined, answer)
        await session.execute(
            text(
                "INSERT INTO knowledge_fts(rowid, question, tags, answer) VALUES (:id, :q, :t, :a)"
            ),
            {"id": entry_id, "q": q, "t": t, "a": a},
        )
    else:
        vector = tsvector_literal([("A", question), ("B", joined), ("D", answer)])
        await session.execute(
            text("UPDATE knowledge_entry SET tsv = CAST(:v AS tsvector) WHERE id = :id"),
            {"id": entry_id, "v": vector},
        )
