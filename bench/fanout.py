"""Fan-out benchmark: one approved item to every column of a 1,000-site tree.

Starts distribute in this process on a throwaway database (its migrations, its consumer
handlers, no broker: the handlers are called as the consumer runner calls them, one committed
transaction per event), generates a province → cities → counties tree of `--sites` sites with
`--columns` columns each, and hands it one `content.ingested` whose fan-out selector names every
column on every site below the province, then its approval. It prints:
- time from the approval to all-delivered (the commit that makes every portal target visible),
  deliveries/s, first → last `delivered_at` skew and p50/p99 of (visible - approved) per target;
- next to it, measured in the same run on the same database: the same number of bare inserts
  into the delivery table (one transaction, the same bulk statements), and the ratio;
- with `--national`, a sizing calculation from these measured figures (docs/sizing.md).

Portal targets are transactional: they all become visible at the one commit, so their
per-target latency is the whole release's time. New-media accounts (the WeChat / Weibo
sandboxes) are not in this run: their platforms' posting limits, not the hub, bound them
(bench/channels.py measures them; `--national` prints what the limits imply).

    .venv/bin/python bench/fanout.py [--sites 1000 --columns 10] [--database postgres] [--national]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.db import insert_rows, table_of  # noqa: E402
from common.events import ContentIngested, EventData, FanoutSelector, ReviewDecided  # noqa: E402
from services.distribute.app import create_app  # noqa: E402
from services.distribute.models import Delivery, Release, Site, SiteColumn  # noqa: E402
from services.distribute.settings import DistributeSettings  # noqa: E402

COLUMN_TYPES = ("news", "notice", "policy", "interpretation", "interview")
# the platforms' posting limits the hub enforces by default (docs/channels.md)
WECHAT_POSTS_PER_MINUTE = 10
WEIBO_POSTS_PER_HOUR = 30


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tree(sites: int) -> list[tuple[str, str | None]]:
    """(slug, parent): one province, about √sites cities, the rest counties spread evenly."""
    cities = max(1, round(math.sqrt(sites)) - 1)
    counties = sites - 1 - cities
    found: list[tuple[str, str | None]] = [("province", None)]
    found += [(f"city{c:03d}", "province") for c in range(cities)]
    found += [(f"county{n:04d}", f"city{n % cities:03d}") for n in range(counties)]
    return found


async def grow(app: Any, sites: int, columns: int) -> None:
    now = datetime.now(UTC)
    shape = tree(sites)
    site_rows = [
        {
            "slug": slug,
            "name": f"{slug}人民政府",
            "domain": f"www.{slug}.gov.cn",
            "site_id_code": f"{5100000000 + n}",
            "parent": parent,
            "description": "",
            "render_rev": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n, (slug, parent) in enumerate(shape)
    ]
    column_rows = [
        {
            "site": slug,
            "slug": f"col{c:02d}",
            "name": f"栏目{c:02d}",
            "type": COLUMN_TYPES[c % len(COLUMN_TYPES)],
            "description": "",
            "position": c,
            "created_at": now,
            "updated_at": now,
        }
        for slug, _ in shape
        for c in range(columns)
    ]
    async with app.state.db.sessions() as session:
        await insert_rows(session, table_of(Site), site_rows)  # parents come first
        await insert_rows(session, table_of(SiteColumn), column_rows)
        await session.commit()


async def handle(app: Any, data: EventData) -> None:
    """The service's handler for an event, committed, as the consumer runner would call it."""
    async with app.state.db.sessions() as session:
        await app.state.spec.handlers[data.TOPIC](session, data.to_event("/bench"))
        await session.commit()


def item(content_id: str, columns: int) -> ContentIngested:
    names = [f"col{c:02d}" for c in range(columns)]
    return ContentIngested(
        content_id=content_id,
        version=1,
        content_hash=f"hash-{content_id}",
        title="国务院关于进一步优化政务服务提升行政效能的通知",
        body_html="<p>各省、自治区、直辖市人民政府，国务院各部委、各直属机构：</p>" * 20,
        body_text="各省、自治区、直辖市人民政府，国务院各部委、各直属机构：" * 20,
        kind="notice",
        site="province",
        columns=names,
        publisher="国务院办公厅",
        doc_number="国发〔2026〕1号",
        author="bench",
        submitted_at=datetime.now(UTC),
        fanout=[FanoutSelector(site="province", scope="descendants", columns=names)],
    )


def approval(data: ContentIngested) -> ReviewDecided:
    return ReviewDecided(
        content_id=data.content_id,
        version=data.version,
        content_hash=data.content_hash,
        task_id=f"t-{data.content_id}",
        decision="approved",
        stage="终审",
        decided_by="bench",
        decided_at=datetime.now(UTC),
    )


@dataclass
class Measured:
    targets: int
    delivered: int
    failed: int
    release_state: str
    seconds: float  # approval handed over → its commit returned
    skew: float  # last - first delivered_at
    p50: float
    p99: float
    bare_seconds: float  # the same number of bare delivery inserts
    outbox_rows: int

    @property
    def per_second(self) -> float:
        return self.targets / self.seconds

    @property
    def bare_per_second(self) -> float:
        return self.targets / self.bare_seconds


async def bare_inserts(app: Any, count: int) -> float:
    """Seconds to insert `count` delivery rows in one transaction (the baseline)."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"msg_{uuid.uuid4().hex}",
            "content_id": "bare",
            "version": 1,
            "content_hash": "bare",
            "action": "publish",
            "target": f"portal:bare/{n}",
            "channel": "portal",
            "endpoint_id": None,
            "account_id": None,
            "state": "delivered",
            "attempts": 1,
            "retry_base": 0,
            "last_error": "",
            "payload": None,
            "next_attempt_at": None,
            "lease_until": None,
            "created_at": now,
            "updated_at": now,
            "delivered_at": now,
        }
        for n in range(count)
    ]
    started = time.perf_counter()
    async with app.state.db.sessions() as session:
        await insert_rows(session, table_of(Delivery), rows)
        await session.commit()
    return time.perf_counter() - started


async def measure(app: Any, sites: int, columns: int) -> Measured:
    await grow(app, sites, columns)
    data = item("fanout1", columns)
    await handle(app, data)  # the text arrives first (its own topic)
    started = time.perf_counter()
    await handle(app, approval(data))
    seconds = time.perf_counter() - started
    async with app.state.db.sessions() as session:
        query = select(Delivery.state, Delivery.delivered_at).where(
            Delivery.content_id == data.content_id  # type: ignore[arg-type]
        )
        rows = (await session.execute(query)).all()
        release = await session.get(Release, (data.content_id, 1))
        outbox = (await session.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    assert release is not None
    moments = [r.delivered_at for r in rows if r.delivered_at is not None]
    skew = (max(moments) - min(moments)).total_seconds() if moments else 0.0
    # every portal target becomes visible at the one commit: its latency is the release's
    latencies = [seconds for _ in moments]
    bare = await bare_inserts(app, len(rows))
    return Measured(
        targets=len(rows),
        delivered=sum(r.state == "delivered" for r in rows),
        failed=sum(r.state == "failed" for r in rows),
        release_state=release.state,
        seconds=seconds,
        skew=skew,
        p50=percentile(latencies, 0.5) if latencies else 0.0,
        p99=percentile(latencies, 0.99) if latencies else 0.0,
        bare_seconds=bare,
        outbox_rows=int(outbox),
    )


def report(m: Measured, sites: int, columns: int, database: str) -> None:
    print(f"fan-out: 1 item → {sites} sites × {columns} columns on {database}")
    print(f"  targets recorded          {m.targets} ({m.delivered} delivered, {m.failed} failed)")
    print(f"  release                   {m.release_state}")
    print(f"  approval → all-delivered  {m.seconds:.2f} s")
    print(f"  deliveries/s              {m.per_second:,.0f}")
    print(f"  first → last skew         {m.skew:.3f} s (delivered_at; one transaction)")
    print(f"  per target p50 / p99      {m.p50:.2f} s / {m.p99:.2f} s (visible at the commit)")
    print(f"  outbox rows               {m.outbox_rows} (delivery.updated per target + the rest)")
    print(f"  bare delivery inserts     {m.bare_seconds:.2f} s ({m.bare_per_second:,.0f} rows/s)")
    print(f"  ratio fan-out / bare      {m.seconds / m.bare_seconds:.1f}×")
    print("  new-media accounts        not in this run: the platforms' limits bound them")
    print(f"                            (WeChat {WECHAT_POSTS_PER_MINUTE}/min per account,")
    print(f"                            Weibo {WEIBO_POSTS_PER_HOUR}/h per account)")


def national(m: Measured) -> None:
    """Sizing for the national hub from the measured figures (docs/sizing.md explains it)."""
    sites, accounts, items_per_day = 15_000, 100_000, 100_000
    columns_per_site = 10
    reprint_targets = sites * columns_per_site  # one State Council document on every column
    rate = m.per_second  # portal deliveries/s of one distribute worker (one DB transaction)
    one_worker = reprint_targets / rate
    print("\nnational sizing (≈15,000 sites, 100,000 accounts, 100,000 items/day):")
    print(f"  measured: {rate:,.0f} portal deliveries/s per worker transaction")
    print(
        f"  one document to every column of every site: {reprint_targets:,} portal targets "
        f"→ {one_worker:.0f} s in one transaction"
    )
    # split by province: 31 provincial subtrees, each its own release transaction
    provinces = 31
    print(
        f"  split per province ({provinces} subtrees, ~{reprint_targets // provinces:,} targets "
        f"each): {one_worker / provinces:.1f} s each; with W workers ≈ "
        f"{one_worker:.0f}/W s (W=8 → {one_worker / 8:.0f} s)"
    )
    daily_targets = items_per_day * 3  # an ordinary item: its own site and ~2 columns more
    busy = daily_targets / rate
    print(
        f"  ordinary load: {items_per_day:,} items/day × ~3 targets = {daily_targets:,} "
        f"deliveries/day → {busy:.0f} s of worker time/day ({busy / 864:.2f} % of one worker)"
    )
    events = reprint_targets + accounts  # delivery.updated per portal target and per account
    print(
        f"  delivery.updated for that document: {events:,} messages; at ~5,000 msg/s per "
        f"partition (1 KiB) → {math.ceil(events / 5000 / 60)} partition-minute(s)"
    )
    wechat_minutes = math.ceil(1 / WECHAT_POSTS_PER_MINUTE)
    print(
        f"  new-media: {accounts:,} accounts each post once; per account the limit is "
        f"{WECHAT_POSTS_PER_MINUTE}/min (WeChat), {WEIBO_POSTS_PER_HOUR}/h (Weibo): one post "
        f"each is within the first window (≤ {wechat_minutes} min); the hub side is "
        f"{accounts:,} leases at the channel job's batch pace"
    )
    print(
        "  partitions: content.* 12, review.* 12, delivery.updated 24, content.published 12"
        " (keyed by content id; distribute workers ≤ partitions); replicas 3, min.insync 2"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--national", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/distribute.db"
        else:
            url = await fresh_postgres()
        settings = DistributeSettings(database_url=url, process_role="api", seed_demo=False)
        app = create_app(settings, ingest_transport=httpx.MockTransport(no_ingest))
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
            measured = await measure(app, args.sites, args.columns)
            async with app.state.db.sessions() as session:
                sites = (await session.execute(select(func.count()).select_from(Site))).scalar()
    report(measured, int(sites or 0), args.columns, args.database)
    if args.national:
        national(measured)


def no_ingest(request: httpx.Request) -> httpx.Response:
    """The bench hands distribute every version itself; ingest is never asked."""
    return httpx.Response(404, json={})


async def fresh_postgres() -> str:
    """A new database on the local PostgreSQL (postgres@127.0.0.1:5432)."""
    import asyncpg

    name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


if __name__ == "__main__":
    asyncio.run(main())
