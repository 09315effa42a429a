"""A search corpus big enough to matter, and the fastest honest way to load it into PostgreSQL.

Why synthetic text: the fixtures hold five paragraphs, so documents built from them all contain
the same words and every query matches every document — nothing like a real library, where a
word's documents follow its frequency. Here each paragraph is ~70 words drawn from jieba's own
dictionary by its corpus frequencies (so 的 and 政府 are common and 荷叶 is rare, as in print),
and one document in two also carries a paragraph of real government text from the fixtures (so
政府网站 or 信息公开 match a realistic share, not all or nothing). A document is eight such
paragraphs, ~1,000 hanzi (~3 KB, the size of the portal bench's notices).

Loading (PostgreSQL): the Python side builds `POOL` distinct documents' tsvectors (~1.3 ms each —
1,000,000 of them would take 20 minutes of pure Python) and copies them into a staging table;
PostgreSQL then writes the N items and search rows with `INSERT … SELECT` over
`generate_series`, each row taking a pool document by a scrambled index, and the GIN index is
dropped for the load and built once at the end (what a bulk import does; maintaining a GIN index
row by row is many times slower). Every row is a real row of the real tables, indexed by the
real migration's index; only the bodies repeat, one in `POOL`.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import jieba

from services.ingest.search.index import tsvector_literal
from services.ingest.search.tokens import index_grams, index_words

POOL = 20_000
PARAGRAPHS = 20_000
WORDS_PER_PARAGRAPH = 70
PARAGRAPHS_PER_DOC = 8
MULTIPLIER = 7919  # prime: row n takes pool document (n × MULTIPLIER) mod POOL

Tokens = tuple[list[str], list[str]]  # (bigram tokens, jieba words) of one paragraph


def dictionary() -> tuple[list[str], list[int]]:
    """jieba's dictionary words and their cumulative frequencies."""
    words, counts = [], []
    path = Path(jieba.__file__).parent / "dict.txt"
    for line in path.read_text("utf-8").splitlines():
        word, count, *_ = line.split(" ")
        words.append(word)
        counts.append(int(count))
    return words, list(itertools.accumulate(counts))


def paragraph_pool(real: list[str], seed: int) -> list[Tokens]:
    """`PARAGRAPHS` synthetic paragraphs' tokens; `real` (fixture paragraphs) are appended."""
    rng = random.Random(seed)
    words, cumulative = dictionary()
    pool = []
    for _ in range(PARAGRAPHS):
        drawn = rng.choices(words, cum_weights=cumulative, k=WORDS_PER_PARAGRAPH)
        text = "".join(w + ("，" if rng.random() < 0.12 else "") for w in drawn)
        pool.append((index_grams(text), index_words(drawn)))
    for paragraph in real:
        pool.append((index_grams(paragraph), index_words(list(jieba.cut(paragraph)))))
    return pool


def documents(pool: list[Tokens], real: int, count: int, seed: int) -> Iterator[Tokens]:
    """`count` documents' (grams, words): eight synthetic paragraphs, one real in two docs."""
    rng = random.Random(seed)
    synthetic = len(pool) - real
    for _ in range(count):
        picks = rng.sample(range(synthetic), k=PARAGRAPHS_PER_DOC)
        if real and rng.random() < 0.5:
            picks[0] = synthetic + rng.randrange(real)
        yield (
            [g for i in picks for g in pool[i][0]],
            [w for i in picks for w in pool[i][1]],
        )


def copy_text(value: str) -> str:
    """A value in COPY's text format (tokens hold no tabs or newlines; backslashes doubled)."""
    return value.replace("\\", "\\\\")


async def bulk_load(dsn: str, count: int, pool: list[Tokens], real: int, seed: int) -> float:
    """Write `count` items and search rows (see the module doc); returns seconds."""
    start = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("CREATE UNLOGGED TABLE bench_pool (k int PRIMARY KEY, tsv tsvector)")
        distinct = min(count, POOL)
        lines = (
            f"{k}\t{copy_text(tsvector_literal(grams[:19], grams, words))}\n".encode()
            for k, (grams, words) in enumerate(documents(pool, real, distinct, seed))
        )
        await conn.copy_to_table("bench_pool", source=_Lines(lines), format="text")
        stages = [("pool", time.perf_counter())]
        gin = await search_gin(conn)
        await conn.execute(f"DROP INDEX {gin['indexname']}")
        await conn.execute(ITEMS_SQL, count)
        stages.append(("items", time.perf_counter()))
        await conn.execute(ROWS_SQL, count, distinct, MULTIPLIER)
        stages.append(("search rows", time.perf_counter()))
        await conn.execute(gin["indexdef"])
        stages.append(("GIN index", time.perf_counter()))
        await conn.execute("DROP TABLE bench_pool")
        await conn.execute("VACUUM ANALYZE")
        stages.append(("vacuum analyze", time.perf_counter()))
        marks = [start] + [t for _, t in stages]
        print("  load: " + ", ".join(
            f"{name} {marks[i + 1] - marks[i]:.0f} s" for i, (name, _) in enumerate(stages)
        ))  # fmt: skip
    finally:
        await conn.close()
    return time.perf_counter() - start


async def search_gin(conn: asyncpg.Connection) -> asyncpg.Record:
    """`search_doc`'s GIN index as the migrations made it (`indexname`, `indexdef`), so the bulk
    load drops and rebuilds exactly that index."""
    row = await conn.fetchrow(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = 'search_doc' AND indexdef LIKE '%USING gin%'"
    )
    assert row is not None, "search_doc has no GIN index: migrations not at head?"
    return row


class _Lines:
    """An async iterable over already-built byte lines, in ~1 MB chunks (for `copy_to_table`)."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines = lines

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> bytes:
        chunk = b"".join(itertools.islice(self.lines, 64))
        if not chunk:
            raise StopAsyncIteration
        return chunk


ITEMS_SQL = (
    "INSERT INTO content_item (id, version, status, title, kind, site, columns, publisher, "
    "content_hash, author, urgent, created_at, updated_at, topic, keywords, summary, script, "
    "disclosure, validity, is_reprint, exact_key, simhash, band0, band1, band2, band3) "
    "SELECT md5(n::text), 1, (ARRAY['published','ingested'])[1 + n % 2], 'bench', "
    "(ARRAY['news','notice','policy'])[1 + n % 3], "
    "(ARRAY['province','city','county'])[1 + n / 7 % 3], '[]', "
    "(ARRAY['省政府办公厅','市政府办公室','县政府办'])[1 + n / 5 % 3], '', 'bench', false, "
    "now(), now(), '政务公开', '[]', '', 'simplified', '主动公开', 'effective', false, '', "
    "0, 0, 0, 0, 0 "
    "FROM generate_series(1, $1::int) AS n"
)
ROWS_SQL = (
    "INSERT INTO search_doc (id, content_id, doc_date, folded_title, tsv) "
    "SELECT n, md5(n::text), DATE '2010-01-01' + n % 4000, '', p.tsv "
    "FROM generate_series(1, $1::int) AS n "
    "JOIN bench_pool p ON p.k = (n::bigint * $3::int) % $2::int"
)
