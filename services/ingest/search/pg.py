"""PostgreSQL search plans: candidates from the GIN index alone, phrases verified lazily.

Why (measured with `bench/ingest.py` and EXPLAIN ANALYZE, see docs/ARCHITECTURE.md): evaluating
`tsv @@ query` on a row means reading its TOASTed tsvector (~15 KB for a 3 KB document, ~5 µs),
but the planner prices it as one cheap operator call. It therefore picked sequential scans —
detoasting *every* row — whenever it expected few matches (a query with no hit: ~120 ms per 20k
documents), and verified every match of a common phrase before sorting or counting.

So a query runs in two stages:

1. **Candidates** — every term's bigrams (and prefixes) ANDed, without phrase operators. GIN
   answers such a query exactly, without reading any tsvector, and it is a superset of the real
   matches (a phrase needs all its bigrams; a jieba word `w_…` implies its bigrams). The item
   filters apply here too. Sequential scans are switched off for the transaction
   (`SET LOCAL enable_seqscan = off`) so the planner cannot fall back to detoasting scans.
2. **Verification** — only where needed: a query whose terms are all single tokens (a 2-hanzi
   term, a single hanzi or Latin prefix, a number) is exact at stage 1. Otherwise candidates are
   walked in the order the page needs (newest first for ranking, by date for date order) and each
   is checked with the real `tsquery` (phrases) in a `LATERAL … LIMIT 1` subquery — a nested loop
   the planner cannot turn into a scan of everything — until the page or window is full. Facets
   need any `FACET_WINDOW` matches, not an order: a GIN bitmap scan rechecking phrases, stopped
   by the LIMIT, is cheaper there.

3. **Newest first, by id block** — ranking needs the newest `RANK_WINDOW` matches; for a common
   term those are found in the newest id blocks, which the GIN index holds next to the tokens
   (`ranked_page`), so the cost does not grow with the collection.

Ranking, the rank window, cursors and facet windows mean exactly what they mean on SQLite:
`ts_rank` over the newest `RANK_WINDOW` matches; facets over at most `FACET_WINDOW` matches,
counted in SQL (no longer shipping up to 20,000 rows to Python).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.ingest.search import facet_sql
from services.ingest.search.tokens import Term

# Rows per id block: each search table's GIN index holds `id / 1024` next to the tsvector
# (migration 5c1d2e7f9a30; the expression must match it exactly for the index to answer).
ID_BLOCK = 1024
# Newest blocks a ranked query tries before reading all its matches (see `ranked_page`):
# 2 blocks fill a 1,000-match window for terms in ≥ 50 % of documents, 32 blocks for ≥ 3 %,
# 256 blocks for ≥ 0.4 % (at 1,000,000 documents the third probe took a 3 % term from 39 to 26 ms
# median and a 1 % one from 36 to 21 ms; a probe that cannot fill costs one GIN count, ~1 ms).
PROBE_BLOCKS = (2, 32, 256)


def candidate_query(terms: list[Term]) -> str:
    """`'g1' & 'g2' & 'g3':* …` — every token of every term; no phrases, so GIN is exact."""
    tokens: dict[str, None] = {}
    for term in terms:
        for i, gram in enumerate(term.grams):
            prefix = term.prefix and i == len(term.grams) - 1
            tokens[f"'{gram}'" + (":*" if prefix else "")] = None
    return " & ".join(tokens)


def needs_verification(terms: list[Term]) -> bool:
    """True when some term is a phrase of several tokens (positions must be checked)."""
    return any(len(term.grams) > 1 for term in terms)


async def steer_planner(session: AsyncSession) -> None:
    """No sequential scans for this transaction's searches (see the module doc). `SET LOCAL`
    ends with the transaction; the other statements of a search request are primary-key reads."""
    await session.execute(text("SET LOCAL enable_seqscan = off"))


def candidates_cte(table: str, filters_sql: str, extra: str = "") -> str:
    """Stage 1 as a materialized CTE `cand(sid, id, doc_date)`; joins the item only if filtered."""
    join = " JOIN content_item ci ON ci.id = sd.content_id" if "ci." in filters_sql + extra else ""
    return (
        "cand AS MATERIALIZED (SELECT sd.id AS sid, sd.content_id AS id, sd.doc_date AS doc_date "
        f"FROM {table} sd{join} WHERE sd.tsv @@ CAST(:lq AS tsquery){filters_sql}{extra})"
    )


def _verified(table: str, verify: bool, select: str = "1 AS ok") -> str:
    check = " AND x.tsv @@ CAST(:q AS tsquery)" if verify else ""
    return (
        f"CROSS JOIN LATERAL (SELECT {select} FROM {table} x WHERE x.id = c.sid{check} LIMIT 1) v"
    )


def ranked_page_sql(table: str, filters_sql: str, verify: bool, recent: bool) -> str:
    """The newest `:window` matches, ranked; one page of them, then a last row `(NULL, NULL,
    n)` giving how many matches the window holds. The candidates carry only their row id
    (common terms have hundreds of thousands: keep what is sorted small). `recent` limits the
    candidates to the id blocks from `:block` on (see `ranked_page`)."""
    join = " JOIN content_item ci ON ci.id = sd.content_id" if "ci." in filters_sql else ""
    blocks = f" AND sd.id / {ID_BLOCK} >= :block" if recent else ""
    ranked = "x.content_id AS id, x.doc_date AS doc_date, -ts_rank(x.tsv, CAST(:q AS tsquery))"
    return (
        f"WITH cand AS MATERIALIZED (SELECT sd.id AS sid FROM {table} sd{join} "
        f"WHERE sd.tsv @@ CAST(:lq AS tsquery){blocks}{filters_sql}), "
        "win AS MATERIALIZED (SELECT v.id, v.doc_date, v.score "
        "FROM (SELECT sid FROM cand ORDER BY sid DESC) c "
        f"{_verified(table, verify, ranked + ' AS score')} "
        "ORDER BY c.sid DESC LIMIT :window) "
        "(SELECT id, doc_date, score FROM win ORDER BY score, id LIMIT :limit OFFSET :offset) "
        "UNION ALL SELECT NULL, NULL, count(*) FROM win"
    )


async def ranked_page(
    session: AsyncSession, table: str, filters_sql: str, verify: bool, params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of `ranked_page_sql`'s page (the count row removed), probing newest first.

    A common term matches most documents (政府: 72 %); sorting all its matches to keep the
    newest `:window` costs time linear in the collection. So the newest `PROBE_BLOCKS` id
    blocks are tried first: the GIN index holds each row's block and intersects the block
    range with the term's postings without reading the rest, so counting a probe's candidates
    is cheap; ranking (reading each tsvector) runs only for a probe with enough of them. A
    probe whose verified window fills holds exactly the newest matches (every match outside
    it is older); otherwise the next, wider probe runs, and finally the unbounded query (a rare
    term: few postings to read anyway)."""
    newest = (await session.execute(text(f"SELECT max(id) FROM {table}"))).scalar()
    if newest is None:
        return []
    for blocks in PROBE_BLOCKS:
        params["block"] = newest // ID_BLOCK - blocks + 1
        if params["block"] <= 0:
            break  # the probe would cover every block: the unbounded query is the same
        if await _candidates(session, table, filters_sql, params) < params["window"]:
            continue
        sql = ranked_page_sql(table, filters_sql, verify, recent=True)
        rows = (await session.execute(text(sql), params)).all()
        if rows[-1][2] >= params["window"]:
            return rows[:-1]
    sql = ranked_page_sql(table, filters_sql, verify, recent=False)
    return (await session.execute(text(sql), params)).all()[:-1]


async def _candidates(
    session: AsyncSession, table: str, filters_sql: str, params: dict[str, Any]
) -> int:
    """Stage-1 candidates in the id blocks from `:block` on, counted up to `:window`."""
    join = " JOIN content_item ci ON ci.id = sd.content_id" if "ci." in filters_sql else ""
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM {table} sd{join} "
        f"WHERE sd.tsv @@ CAST(:lq AS tsquery) AND sd.id / {ID_BLOCK} >= :block{filters_sql} "
        "LIMIT :window) c"
    )
    return int((await session.execute(text(sql), params)).scalar_one())


def date_page_sql(
    table: str, filters_sql: str, verify: bool, params: dict[str, Any], position: Any
) -> str:
    """Newest `doc_date` first, keyset cursor on (doc_date, id)."""
    after = ""
    if isinstance(position, dict) and "date" in position:
        after = " AND (sd.doc_date < :c_date OR (sd.doc_date = :c_date AND sd.content_id < :c_id))"
        params["c_date"] = date.fromisoformat(position["date"])
        params["c_id"] = position["id"]
    return (
        f"WITH {candidates_cte(table, filters_sql, after)} "
        "SELECT c.id, c.doc_date, 0 AS score "
        "FROM (SELECT * FROM cand ORDER BY doc_date DESC, id DESC) c "
        f"{_verified(table, verify) if verify else ''} "
        "ORDER BY c.doc_date DESC, c.id DESC LIMIT :limit"
    )


async def facet_counts(
    session: AsyncSession,
    table: str,
    filters_sql: str,
    verify: bool,
    params: dict[str, Any],
    window: int,
) -> dict[str, dict[str, int]]:
    """Counts by site, kind, publisher, topic, status and year over at most `window` matches."""
    # Any `window` matches will do, so no walk in order: one bitmap scan of the GIN index,
    # rechecking phrases row by row (cheaper than the LATERAL probe), stopped by the LIMIT.
    join = " JOIN content_item ci ON ci.id = sd.content_id" if "ci." in filters_sql else ""
    match = ":q" if verify else ":lq"
    matched = (
        "SELECT sd.content_id AS id, sd.doc_date AS doc_date "
        f"FROM {table} sd{join} WHERE sd.tsv @@ CAST({match} AS tsquery){filters_sql} "
        "LIMIT :fw1"
    )
    sql = facet_sql.counts_sql(matched, "to_char(doc_date, 'YYYY')")
    rows = (await session.execute(text(sql), facet_sql.window_params(params, window))).all()
    return facet_sql.facets_of(rows, window)
