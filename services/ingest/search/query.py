"""Running a search: the same query semantics on FTS5 (SQLite) and tsvector (PostgreSQL).

Matching: every whitespace-separated term must occur as a substring (after folding to Simplified)
of the title or body — expressed as a phrase of bigram tokens. Ranking: bm25 (SQLite) or ts_rank
(PostgreSQL), with title hits and whole-word (jieba) hits weighted up. Filters narrow by item
columns; facets count the matches by site, kind, publisher, topic, status and year.
PostgreSQL plans its queries in two stages (GIN-exact candidates, then lazy phrase checks):
see `pg.py`; the results are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Unprocessable
from common.pagination import decode_cursor, encode_cursor
from services.ingest.search import facet_sql, pg
from services.ingest.search.index import PUBLIC, STAFF, WORD_PREFIX, is_sqlite
from services.ingest.search.tokens import Term, query_terms

RANK_WINDOW = 1000
FACET_WINDOW = 20000


@dataclass
class SearchFilters:
    site: str | None = None
    column: str | None = None
    kind: str | None = None
    publisher: str | None = None
    doc_number: str | None = None
    status: str | None = None
    topic: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sites: list[str] | None = None  # the caller's site scope (None = all)
    statuses: list[str] | None = None  # e.g. public search: published only


@dataclass
class SearchPage:
    hits: list[dict[str, Any]]
    next_cursor: str | None
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    terms: list[Term] = field(default_factory=list)


def fts5_query(terms: list[Term]) -> str:
    """`({title grams}: "g1 g2" OR words: "word") AND …` — tokens are [a-z0-9] or hanzi only."""
    parts = []
    for term in terms:
        phrase = '"' + " ".join(term.grams) + '"' + ("*" if term.prefix else "")
        alternatives = [f"{{title grams}} : {phrase}"]
        if len(term.grams) > 1 or not term.prefix:
            alternatives.append(f'words : "{term.text}"')
        parts.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(parts)


def tsquery(terms: list[Term]) -> str:
    """`('g1' <-> 'g2' | 'w_word') & …` as a tsquery literal."""
    parts = []
    for term in terms:
        grams = [f"'{g}'" for g in term.grams]
        if term.prefix:
            grams[-1] += ":*"
        phrase = " <-> ".join(grams)
        alternatives = [f"({phrase})"]
        if len(term.grams) > 1 or not term.prefix:
            alternatives.append(f"'{WORD_PREFIX}{term.text}'")
        parts.append("(" + " | ".join(alternatives) + ")")
    return " & ".join(parts)


def filter_sql(filters: SearchFilters, params: dict[str, Any]) -> str:
    clauses = []
    for name in ("site", "kind", "publisher", "doc_number", "status", "topic"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"ci.{name} = :f_{name}")
            params[f"f_{name}"] = value
    if filters.column is not None:
        clauses.append(
            'ci.id IN (SELECT content_id FROM content_target WHERE "column" = :f_column)'
        )
        params["f_column"] = filters.column
    if filters.date_from is not None:
        clauses.append("sd.doc_date >= :f_from")
        params["f_from"] = filters.date_from
    if filters.date_to is not None:
        clauses.append("sd.doc_date <= :f_to")
        params["f_to"] = filters.date_to
    for name, values in (("site", filters.sites), ("status", filters.statuses)):
        if values is not None:
            keys = [f"f_{name}_in_{i}" for i in range(len(values))]
            params.update(dict(zip(keys, values, strict=True)))
            clauses.append(f"ci.{name} IN ({', '.join(':' + k for k in keys)})" if keys else "1=0")
    return "".join(f" AND {c}" for c in clauses)


def match_sql(public: bool = False) -> tuple[str, str, str]:
    """SQLite: (FROM … WHERE match, score, newest-first key); lower score = better.

    `public` searches the published versions' index (`published_fts`) instead of the current
    versions' one; either way the row is aliased `sd` and the item `ci`. (PostgreSQL: `pg.py`.)

    The full-text table is always the outer loop (SQLite's CROSS JOIN keeps the order as
    written): with an item filter such as the site, the planner otherwise walked the filtered
    items and ran the whole MATCH once per item — every item times every match, 20–60 ms of
    facet counting at 300 published notices, growing with the square of the library."""
    scope = PUBLIC if public else STAFF
    fts = scope.fts
    return (
        f"FROM {fts} CROSS JOIN {scope.table} sd ON sd.id = {fts}.rowid "
        f"CROSS JOIN content_item ci ON ci.id = sd.content_id WHERE {fts} MATCH :q",
        f"bm25({fts}, 5.0, 1.0, 2.0)",
        f"{fts}.rowid",
    )


async def search(
    session: AsyncSession,
    query: str,
    filters: SearchFilters,
    *,
    order: str = "relevance",
    cursor: str | None = None,
    limit: int = 20,
    with_facets: bool = True,
    rank_window: int = RANK_WINDOW,
    public: bool = False,
) -> SearchPage:
    """One page of hits (item ids with score and date), plus facet counts on the first page.

    `public`: search each item's last published version (portal search), not its current one."""
    terms = query_terms(query)
    if not terms:
        raise Unprocessable("the query has no searchable characters", field="q")
    sqlite = is_sqlite(session)
    position = decode_cursor(cursor) or {}
    if not sqlite:
        return await _search_pg(
            session, terms, filters, order, position, cursor, limit, with_facets, rank_window,
            public,
        )  # fmt: skip
    params: dict[str, Any] = {"q": fts5_query(terms)}
    source, score, newest = match_sql(public)
    where = source + filter_sql(filters, params)
    if order == "date":
        sql, params = _date_page(where, params, position, limit)
    else:
        params["offset"] = int(position.get("offset", 0)) if isinstance(position, dict) else 0
        # Rank within a bounded window of the newest matches (docs/ceilings.md: the p99 of
        # ranked
        # queries comes from very common words; never score tens of thousands of rows).
        params["window"] = rank_window
        sql = (
            f"SELECT id, doc_date, score FROM (SELECT ci.id AS id, sd.doc_date AS doc_date, "
            f"{score} AS score {where} ORDER BY {newest} DESC LIMIT :window) AS candidates "
            "ORDER BY score, id LIMIT :limit OFFSET :offset"
        )
    hits, next_cursor = await _fetch_page(session, sql, params, order, limit)
    facets = await facet_counts(session, where, params) if with_facets and not cursor else {}
    return SearchPage(hits, next_cursor, facets, terms)


async def _search_pg(
    session: AsyncSession,
    terms: list[Term],
    filters: SearchFilters,
    order: str,
    position: Any,
    cursor: str | None,
    limit: int,
    with_facets: bool,
    rank_window: int,
    public: bool,
) -> SearchPage:
    """The same page on PostgreSQL, planned in two stages (see `pg.py`)."""
    table = (PUBLIC if public else STAFF).table
    params: dict[str, Any] = {"q": tsquery(terms), "lq": pg.candidate_query(terms)}
    filters_sql = filter_sql(filters, params)
    verify = pg.needs_verification(terms)
    await pg.steer_planner(session)
    if order == "date":
        sql = pg.date_page_sql(table, filters_sql, verify, params, position)
        hits, next_cursor = await _fetch_page(session, sql, params, order, limit)
    else:
        params["offset"] = int(position.get("offset", 0)) if isinstance(position, dict) else 0
        params["window"], params["limit"] = rank_window, limit + 1
        rows = await pg.ranked_page(session, table, filters_sql, verify, params)
        hits, next_cursor = _page(rows, params, order, limit)
    facets = {}
    if with_facets and not cursor:
        facets = await pg.facet_counts(session, table, filters_sql, verify, params, FACET_WINDOW)
    return SearchPage(hits, next_cursor, facets, terms)


async def _fetch_page(
    session: AsyncSession, sql: str, params: dict[str, Any], order: str, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Run a page query that fetches `limit + 1` rows; the extra row only says there is more."""
    params["limit"] = limit + 1
    rows = (await session.execute(text(sql), params)).all()
    return _page(rows, params, order, limit)


def _page(
    rows: Sequence[Sequence[Any]], params: dict[str, Any], order: str, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Hits and the next cursor from up to `limit + 1` page rows (the extra one: there is more)."""
    hits = [{"id": r[0], "doc_date": r[1], "score": float(r[2])} for r in rows[:limit]]
    if len(rows) <= limit:
        return hits, None
    last = rows[limit - 1]
    position = (
        {"date": str(last[1]), "id": last[0]}
        if order == "date"
        else {"offset": params["offset"] + limit}
    )
    return hits, encode_cursor(position)


def _date_page(
    where: str, params: dict[str, Any], position: Any, limit: int
) -> tuple[str, dict[str, Any]]:
    if isinstance(position, dict) and "date" in position:
        where += " AND (sd.doc_date < :c_date OR (sd.doc_date = :c_date AND ci.id < :c_id))"
        params["c_date"] = date.fromisoformat(position["date"])
        params["c_id"] = position["id"]
    sql = (
        f"SELECT ci.id, sd.doc_date, 0 AS score {where} "
        "ORDER BY sd.doc_date DESC, ci.id DESC LIMIT :limit"
    )
    return sql, params


async def facet_counts(
    session: AsyncSession, where: str, params: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """SQLite: counts by site, kind, publisher, topic, status and year over at most
    FACET_WINDOW matches (any of them), counted in SQL (`facet_sql`); `_truncated` says when there
    were more. PostgreSQL: `pg.facet_counts`."""
    where = where.split(" AND (sd.doc_date < :c_date")[0]
    matched = f"SELECT ci.id AS id, sd.doc_date AS doc_date {where} LIMIT :fw1"
    sql = facet_sql.counts_sql(matched, "substr(doc_date, 1, 4)")
    rows = (await session.execute(text(sql), facet_sql.window_params(params, FACET_WINDOW))).all()
    return facet_sql.facets_of(rows, FACET_WINDOW)
