"""Ingest throughput and search latency.

    .venv/bin/python bench/ingest.py [--docs 2000] [--search-docs 100000]
                                     [--db sqlite|postgres|both] [--keep DATABASE]

1. Throughput of cleaning + metadata + fingerprinting (`services.ingest.prepare.prepare`, which
   segments each document with jieba exactly once) over a generated corpus of ~3 KB dirty
   government documents, next to jieba segmentation alone of the same corpus in the same run.
   The ratio prepare / jieba is the figure (absolute numbers drift between machines).
2. Search p50 / p99 over `--search-docs` documents for 2-character, single-word and multi-word
   queries, ranked top 20 (and with facets), on SQLite (FTS5) and PostgreSQL (tsvector). The
   corpus and how it is loaded (bulk, on PostgreSQL) are described in `bench/search_corpus.py`:
   the same tokens the service writes, computed per paragraph and concatenated, so building
   1,000,000 documents does not take 1,000,000 × jieba.
3. Peak memory (max RSS) of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.memory import own_peak_line  # noqa: E402
from bench.search_corpus import Tokens, bulk_load, documents, paragraph_pool  # noqa: E402
from common.db import Database  # noqa: E402
from common.migrations import upgrade_to_head  # noqa: E402
from services.ingest import models_intake  # noqa: E402, F401
from services.ingest.chinese import fold, segment, warm_up  # noqa: E402
from services.ingest.prepare import Incoming, prepare  # noqa: E402
from services.ingest.search.query import SearchFilters, search  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
# More real text to mix in: a folder of UTF-8 .txt files (optional).
SAMPLES = Path(os.environ.get("KITCHEN_BENCH_SAMPLES", "/nonexistent"))
PG = "postgresql://postgres@127.0.0.1:5432"
MIGRATIONS = ROOT / "services" / "ingest" / "migrations"
DIRT = ("@@", "發(fā)展", "\ufffd", "　　", "k15]")
CHROME = ("发布日期：2017-06-12 字体：[大 中 小]", "扫一扫在手机打开当前页", "浏览次数：1024")
SHORT = ("政府", "网站", "公开", "安全", "服务", "信息", "建设", "工作")
WORDS = ("政府网站", "信息公开", "安全生产", "政策解读", "协同联动", "内容保障")
MULTI = ("政府网站 信息公开", "安全生产 检查", "政策 解读 及时", "網站 內容 建設")


def paragraphs() -> list[str]:
    texts = (
        [p.read_text("utf-8") for p in sorted(SAMPLES.glob("*.txt"))] if SAMPLES.exists() else []
    )
    texts += [
        (FIXTURES / n).read_text("utf-8") for n in ("segmented.txt", "traditional_pinyin.txt")
    ]
    found = []
    for block in "\n".join(texts).replace("@@", "").split("\n"):
        block = block.strip()
        while len(block) > 40:
            found.append(block[:400])
            block = block[400:]
    return found


def corpus(count: int, seed: int) -> list[tuple[str, str]]:
    """(title, dirty body text) pairs of ~3 KB each."""
    rng = random.Random(seed)
    pool = paragraphs()
    docs = []
    for n in range(count):
        chosen = rng.sample(pool, k=min(len(pool), 9))
        lines = (
            [rng.choice(CHROME)]
            + chosen
            + ["某某市人民政府办公厅", f"2015年{n % 12 + 1}月{n % 28 + 1}日"]
        )
        body = "\n".join(lines)
        for mark in rng.sample(DIRT, k=2):
            at = rng.randrange(len(body))
            body = body[:at] + mark + body[at:]
        docs.append((f"关于{chosen[0][:12]}的通知（{n}）", body))
    return docs


def bench_throughput(docs: list[tuple[str, str]]) -> None:
    megabytes = sum(len(t.encode()) + len(b.encode()) for t, b in docs) / 1e6
    start = time.perf_counter()
    for title, body in docs:
        segment(title + "\n" + body)
    jieba_s = time.perf_counter() - start
    start = time.perf_counter()
    for title, body in docs:
        prepare(Incoming(title=title, kind="notice", site="s", columns=["c"], publisher=None,
                         channel="bench", actor="bench", body_text=body))  # fmt: skip
    prepare_s = time.perf_counter() - start
    n = len(docs)
    print(f"corpus: {n} docs, {megabytes:.1f} MB")
    print(f"jieba alone:          {n / jieba_s:8.0f} docs/s  {megabytes / jieba_s:6.2f} MB/s")
    print(f"clean+meta+fingerprint:{n / prepare_s:8.0f} docs/s  {megabytes / prepare_s:6.2f} MB/s")
    print(
        f"ratio prepare/jieba throughput: {jieba_s / prepare_s:.2f}  (1.0 = as fast as jieba alone)"
    )


async def fill_sqlite(
    database: Database, count: int, pool: list[Tokens], real: int, seed: int
) -> float:
    """Insert `count` items + FTS5 rows with the corpus's tokens; returns seconds."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = time.perf_counter()
    batch: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for n, (grams, words) in enumerate(documents(pool, real, count, seed)):
        item = {
            "id": uuid.uuid4().hex, "site": rng.choice(("province", "city", "county")),
            "kind": rng.choice(("news", "notice", "policy")),
            "status": rng.choice(("published", "ingested")),
            "publisher": rng.choice(("省政府办公厅", "市政府办公室", "县政府办")),
            "topic": "政务公开",
            "doc_date": date(2010, 1, 1) + timedelta(days=n % 4000), "now": now,
        }  # fmt: skip
        row = {"id": n + 1, "cid": item["id"], "d": item["doc_date"], "t": " ".join(grams[:19]),
               "g": " ".join(grams), "w": " ".join(words)}  # fmt: skip
        batch.append((item, row))
        if len(batch) == 1000 or n == count - 1:
            await insert(database, batch)
            batch = []
    return time.perf_counter() - start


ITEM_SQL = (
    "INSERT INTO content_item (id, version, status, title, kind, site, columns, publisher, "
    "content_hash, author, urgent, created_at, updated_at, topic, keywords, summary, script, "
    "disclosure, validity, is_reprint, exact_key, simhash, band0, band1, band2, band3) VALUES "
    "(:id, 1, :status, 'bench', :kind, :site, '[]', :publisher, '', 'bench', false, :now, :now, "
    ":topic, '[]', '', 'simplified', '主动公开', 'effective', false, '', 0, 0, 0, 0, 0)"
)


async def insert(database: Database, batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text(ITEM_SQL), [item for item, _ in batch])
        await conn.execute(
            text(
                "INSERT INTO search_doc (id, content_id, doc_date, folded_title) "
                "VALUES (:id, :cid, :d, '')"
            ),
            [row for _, row in batch],
        )
        await conn.execute(
            text("INSERT INTO content_fts(rowid, title, grams, words) VALUES (:id, :t, :g, :w)"),
            [row for _, row in batch],
        )


async def index_size(database: Database) -> str:
    """`, search rows 12.3 GB, GIN 4.5 GB` on PostgreSQL; nothing on SQLite."""
    if database.is_sqlite:
        return ""
    async with database.engine.connect() as conn:
        rows, gin = (
            await conn.execute(
                text(
                    "SELECT pg_total_relation_size('search_doc'), "
                    "pg_relation_size(CAST(indexname AS regclass)) "
                    "FROM pg_indexes WHERE tablename = 'search_doc' AND indexdef LIKE '%USING gin%'"
                )
            )
        ).one()
    return f", search rows {(rows - gin) / 1e9:.1f} GB, GIN index {gin / 1e9:.1f} GB"


async def latencies(
    database: Database, queries: tuple[str, ...], facets: bool, rounds: int
) -> tuple[float, float, int]:
    times = []
    hits = 0
    async with database.sessions() as session:
        for _ in range(rounds):
            for q in queries:
                start = time.perf_counter()
                page = await search(session, q, SearchFilters(), limit=20, with_facets=facets)
                times.append((time.perf_counter() - start) * 1000)
                hits += len(page.hits)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], hits


async def bench_search(kind: str, count: int, seed: int, keep: str | None) -> None:
    """Fill a fresh index and time the queries. `keep` (PostgreSQL): load into that database
    once and keep it, so a later run (another plan to try) reuses a 1,000,000-row load."""
    with tempfile.TemporaryDirectory() as scratch:
        name = keep or f"kitchen_bench_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        else:
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            loaded = await pg_rows(name)
            if loaded not in (None, 0, count):
                raise SystemExit(f"database {name} holds {loaded} search rows, not {count}")
            if loaded is None:
                await admin_sql(f'CREATE DATABASE "{name}"')
        database = Database(url)
        try:
            await upgrade_to_head(database, MIGRATIONS)
            if kind == "sqlite" or await pg_rows(name) == 0:
                seconds = await fill(database, count, seed, name)
                print(f"\n{kind}: {count} docs indexed in {seconds:.1f} s", end="")
            else:
                print(f"\n{kind}: {count} docs already indexed in database {name}", end="")
            print(await index_size(database))
            for label, queries in (("2-char", SHORT), ("word", WORDS), ("multi-word", MULTI)):
                p50, p99, _ = await latencies(database, queries, False, 5)
                f50, f99, _ = await latencies(database, queries, True, 2)
                print(
                    f"  {label:10s} top20 p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
                    f" | with facets p50 {f50:7.1f} ms  p99 {f99:7.1f} ms"
                )
        finally:
            await database.dispose()
            if kind == "postgres" and keep is None:
                await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fill(database: Database, count: int, seed: int, name: str) -> float:
    real = [fold(p) for p in paragraphs()]
    pool = paragraph_pool(real, seed)
    if database.is_sqlite:
        return await fill_sqlite(database, count, pool, len(real), seed)
    return await bulk_load(f"{PG}/{name}", count, pool, len(real), seed)


async def admin_sql(sql: str) -> None:
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


async def pg_rows(name: str) -> int | None:
    """Search rows in database `name`; None if there is no such database, 0 before migrations."""
    try:
        conn = await asyncpg.connect(f"{PG}/{name}")
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if await conn.fetchval("SELECT to_regclass('search_doc')") is None:
            return 0
        return int(await conn.fetchval("SELECT count(*) FROM search_doc"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--search-docs", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", metavar="DATABASE", help="PostgreSQL: load into DATABASE once and keep it"
    )
    args = parser.parse_args()
    warm_up()
    bench_throughput(corpus(args.docs, args.seed))
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        asyncio.run(bench_search(kind, args.search_docs, args.seed, args.keep))
    print()
    print(own_peak_line())


if __name__ == "__main__":
    main()
