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
per-target latency is the whole release's time.

Separately (their platforms' posting limits apply, at the hub's defaults: WeChat 10/min and
Weibo 30/h per account), the demo tree's new-media accounts on the WeChat and Weibo sandboxes
(served over HTTP in this process): `--items` items fanned out over the demo tree, each to the
four demo accounts, the channel job run until every post is confirmed; printed per platform
from `GET /api/v1/deliveries/fanout/...`'s figures (`services.distribute.fanout`).

    .venv/bin/python bench/fanout.py [--sites 1000 --columns 10] [--items 3]
                                     [--database postgres] [--national]
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
from sqlalchemy import func
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory import own_peak_line  # noqa: E402
from common.db import insert_rows, table_of  # noqa: E402
from common.events import ContentIngested, EventData, FanoutSelector, ReviewDecided  # noqa: E402
from common.jobs import run_once  # noqa: E402
from common.outbound import outbound_client  # noqa: E402
from common.testing import served_in_thread  # noqa: E402
from kitchen.sandboxes import wechat as wechat_sandbox  # noqa: E402
from kitchen.sandboxes import weibo as weibo_sandbox  # noqa: E402
from kitchen.sandboxes.demo import DEMO_ACCOUNTS  # noqa: E402
from services.distribute.app import create_app  # noqa: E402
from services.distribute.channels.delivery import CHANNEL_BATCH, ChannelDispatcher  # noqa: E402
from services.distribute.clients.webhooks import WebhookSender  # noqa: E402
from services.distribute.dispatch import WebhookDispatcher  # noqa: E402
from services.distribute.fanout import fanout_report  # noqa: E402
from services.distribute.models import Delivery, Release, Site, SiteColumn, tables  # noqa: E402
from services.distribute.schemas import WebhookEndpointCreate  # noqa: E402
from services.distribute.settings import DistributeSettings  # noqa: E402
from services.distribute.webhook_endpoints import create_endpoint  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
CREATED: list[str] = []  # the bench's own PostgreSQL databases
COLUMN_TYPES = ("news", "notice", "policy", "interpretation", "interview")


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
    content_id = f"bare-{uuid.uuid4().hex[:8]}"  # each baseline its own rows
    rows = [
        {
            "id": f"msg_{uuid.uuid4().hex}",
            "content_id": content_id,
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
    return await release_once(app, "fanout1", columns)


async def release_once(app: Any, content_id: str, columns: int) -> Measured:
    """One item on `columns` columns of every site of the grown tree, approved and measured."""
    data = item(content_id, columns)
    await handle(app, data)  # the text arrives first (its own topic)
    started = time.perf_counter()
    await handle(app, approval(data))
    seconds = time.perf_counter() - started
    async with app.state.db.sessions() as session:
        query = select(Delivery.state, Delivery.delivered_at).where(
            col(Delivery.content_id) == data.content_id
        )
        rows = list(await session.exec(query))
        release = await session.get(Release, (data.content_id, 1))
    async with app.state.db.engine.connect() as conn:
        outbox = await conn.scalar(select(func.count()).select_from(tables.outbox))
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


async def sandboxes(url: str, items: int) -> dict[str, dict[str, Any]]:
    """`items` items over the demo tree to the demo accounts on the sandboxes, the channel job
    run until every post settles; per platform: posts, states, seconds, p50/p99 lag."""
    wechat = wechat_sandbox.create_app(
        [a for a in DEMO_ACCOUNTS if a["platform"] == "wechat"], publish_seconds=0.3
    )
    weibo = weibo_sandbox.create_app([a for a in DEMO_ACCOUNTS if a["platform"] == "weibo"])
    with (
        served_in_thread(wechat, "the WeChat sandbox") as wechat_url,
        served_in_thread(weibo, "the Weibo sandbox") as weibo_url,
    ):
        settings = DistributeSettings(
            database_url=url,
            process_role="api",
            seed_demo=True,
            demo_channel_accounts=DEMO_ACCOUNTS,
            wechat_api_url=wechat_url,
            weibo_api_url=weibo_url,
            wechat_confirm_seconds=0.1,
            outbound_allow=["127.0.0.1"],
        )
        app = create_app(settings, ingest_transport=httpx.MockTransport(no_ingest))
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
            deps = app.state.deps
            job = ChannelDispatcher(settings, deps.channels, deps.box)
            ids = [f"wx{n}" for n in range(items)]
            started = time.perf_counter()
            for content_id in ids:
                data = item(content_id, 0).model_copy(
                    update={
                        # a platform refuses a text it already carries: one title per item
                        "title": f"{item(content_id, 0).title}（第{content_id}号）",
                        "columns": ["news"],
                        "fanout": [
                            FanoutSelector(site="province", scope="descendants", columns=["news"])
                        ],
                    }
                )
                await handle(app, data)
                await handle(app, approval(data))
            reports = await settle_channels(app, job, ids)
            seconds = time.perf_counter() - started
    return spread_per_platform(reports, seconds)


SLOW_RECEIVER_SECONDS = 1.0


def receiver_app() -> Any:
    """App subscribers' receivers: `/fast` answers at once, `/slow` after a second."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def fast(request: Request) -> Response:
        await request.body()
        return Response(status_code=204)

    async def slow(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(SLOW_RECEIVER_SECONDS)
        return Response(status_code=204)

    return Starlette(routes=[Route("/fast", fast, methods=["POST"]),
                             Route("/slow", slow, methods=["POST"])])  # fmt: skip


async def subscribers(url: str, count: int, slow_every: int) -> dict[str, Any]:
    """One item to `count` app subscribers (every `slow_every`-th one slow), the webhook job
    run until every delivery settles: how long, and the fast receivers' lag beside the slow
    ones' (a slow receiver holds only its own slots)."""
    with served_in_thread(receiver_app(), "the subscribers' receivers") as base:
        settings = DistributeSettings(
            database_url=url, process_role="api", seed_demo=True, outbound_allow=["127.0.0.1"]
        )
        app = create_app(settings, ingest_transport=httpx.MockTransport(no_ingest))
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
            deps = app.state.deps
            slow_ids = set()
            async with app.state.db.sessions() as session:
                for n in range(count):
                    path = "slow" if slow_every and n % slow_every == 0 else "fast"
                    endpoint = WebhookEndpointCreate(
                        url=f"{base}/{path}", events=["content.published"]
                    )
                    made = await create_endpoint(
                        session, endpoint, deps.box, deps.outbound, "bench"
                    )
                    if path == "slow":
                        slow_ids.add(f"webhook:{made['id']}")
                await session.commit()
            client = outbound_client(deps.outbound, timeout=10)
            dispatcher = WebhookDispatcher(settings, WebhookSender(client))
            data = item("hooks1", 0).model_copy(update={"columns": ["news"], "fanout": []})
            started = time.perf_counter()
            await handle(app, data)
            await handle(app, approval(data))
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                await run_once(app.state.db, dispatcher.step)
                async with app.state.db.sessions() as session:
                    query = select(Delivery.target, Delivery.state, Delivery.delivered_at).where(
                        col(Delivery.content_id) == "hooks1", col(Delivery.channel) == "webhook"
                    )
                    rows = list(await session.exec(query))
                if rows and all(r.state in ("delivered", "failed") for r in rows):
                    break
            seconds = time.perf_counter() - started
            await run_once(app.state.db, dispatcher.drain)
            async with app.state.db.sessions() as session:
                release = await session.get(Release, ("hooks1", 1))
            await client.aclose()
    assert release is not None
    approved = release.approved_at.replace(tzinfo=UTC) if release.approved_at.tzinfo is None \
        else release.approved_at  # fmt: skip

    def lags(slow: bool) -> list[float]:
        return [
            (r.delivered_at.replace(tzinfo=UTC) - approved).total_seconds()
            for r in rows
            if r.delivered_at is not None and (r.target in slow_ids) == slow
        ]

    return {
        "targets": len(rows),
        "delivered": sum(r.state == "delivered" for r in rows),
        "seconds": seconds,
        "fast": lags(False),
        "slow": lags(True),
        "batch": settings.webhook_batch_size,
        "per_endpoint": settings.webhook_endpoint_concurrency,
    }


def report_subscribers(found: dict[str, Any]) -> None:
    print(
        f"\napp subscribers: 1 item to {found['targets']} webhook endpoints "
        f"({len(found['slow'])} answering after {SLOW_RECEIVER_SECONDS:.0f} s), "
        f"{found['batch']} sends in flight, {found['per_endpoint']} per endpoint:"
    )
    print(f"  delivered                 {found['delivered']} of {found['targets']}")
    print(f"  approval → all settled    {found['seconds']:.2f} s "
          f"({found['targets'] / found['seconds']:.0f} deliveries/s)")  # fmt: skip
    for name in ("fast", "slow"):
        lag = found[name]
        if lag:
            print(
                f"  {name} receivers lag p50 / p99  {percentile(lag, 0.5):.2f} s / "
                f"{percentile(lag, 0.99):.2f} s"
            )


async def settle_channels(app: Any, job: ChannelDispatcher, ids: list[str]) -> list[Any]:
    """Run the channel job until no item has an open new-media post (≤ 120 s)."""
    deadline = time.monotonic() + 120
    while True:
        await run_once(app.state.db, job.step)
        async with app.state.db.sessions() as session:
            reports = [await fanout_report(session, c, 1) for c in ids]
        open_ = [
            s
            for r in reports
            for c in r["channels"]
            if c["channel"] in ("wechat", "weibo")
            for s in c["states"]
            if s not in ("delivered", "failed", "needs_edit", "cancelled")
        ]
        if not open_ or time.monotonic() > deadline:
            return reports
        await asyncio.sleep(0.05)


def spread_per_platform(reports: list[Any], seconds: float) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for channel in ("portal", "wechat", "weibo"):
        rows = [c for r in reports for c in r["channels"] if c["channel"] == channel]
        states: dict[str, int] = {}
        for row in rows:
            for state, n in row["states"].items():
                states[state] = states.get(state, 0) + n
        found[channel] = {
            "targets": sum(r["targets"] for r in rows),
            "states": states,
            "p50": max((r["p50_seconds"] or 0.0) for r in rows),
            "p99": max((r["p99_seconds"] or 0.0) for r in rows),
            "skew": max((r["skew_seconds"] or 0.0) for r in rows),
            "seconds": seconds,
        }
    return found


def report_sandboxes(found: dict[str, dict[str, Any]], items: int) -> None:
    print(f"\nnew-media sandboxes: {items} item(s) over the demo tree, 4 demo accounts each,")
    print("  the hub's default limits (WeChat 10/min, Weibo 30/h per account):")
    for channel, f in found.items():
        rate = f["targets"] / f["seconds"] if f["seconds"] else 0.0
        print(
            f"  {channel:7} targets {f['targets']:3}  {f['states']}  p50 {f['p50']:.2f} s  "
            f"p99 {f['p99']:.2f} s  skew {f['skew']:.2f} s  ({rate:.1f}/s over the run)"
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


# the national hub (docs/sizing.md)
NATIONAL_SITES = 15_000
NATIONAL_ACCOUNTS = 100_000
NATIONAL_ITEMS_PER_DAY = 100_000
PROVINCES = 31
RELAY_MSGS_PER_SECOND = 30_000  # outbox relay → broker, the low end of docs/ceilings.md
PEAK_FACTOR = 10  # office-hours peak over the daily average


@dataclass(frozen=True)
class Costs:
    """A release's cost split into what each site costs (its page, its change-feed row) and
    what each (site, column) target costs (its entry, delivery and event), from two releases
    over the same tree: on every column of every site, and on one column of every site."""

    per_site: float
    per_target: float

    @classmethod
    def of(cls, wide: Measured, narrow: Measured, sites: int, columns: int) -> Costs:
        per_target = max(0.0, (wide.seconds - narrow.seconds) / (sites * (columns - 1)))
        return cls(max(0.0, narrow.seconds / sites - per_target), per_target)

    def seconds(self, sites: int, columns: int) -> float:
        return sites * (self.per_site + columns * self.per_target)


def national(m: Measured, costs: Costs, channels: dict[str, dict[str, Any]]) -> None:
    """Sizing for the national hub from the measured figures (docs/sizing.md explains it)."""
    rate = m.per_second  # portal deliveries/s inside one release transaction
    print(
        f"\nnational sizing (≈{NATIONAL_SITES:,} sites, {NATIONAL_ACCOUNTS:,} accounts, "
        f"{NATIONAL_ITEMS_PER_DAY:,} items/day), from {rate:,.0f} portal deliveries/s measured, "
        f"{costs.per_site * 1000:.2f} ms per site + {costs.per_target * 1000:.3f} ms per target:"
    )
    for columns in (2, 10):
        targets = NATIONAL_SITES * columns
        whole = costs.seconds(NATIONAL_SITES, columns)
        print(
            f"  one document on {columns} columns of every site: {targets:,} portal targets → "
            f"{whole:.0f} s in one transaction; per province ({PROVINCES} releases of "
            f"~{targets // PROVINCES:,}) {whole / PROVINCES:.1f} s each"
        )
    events = NATIONAL_SITES * 10 + NATIONAL_ACCOUNTS
    print(
        f"  its delivery.updated: up to {events:,} messages, one key (the content id) → one "
        f"partition; relay at ≥{RELAY_MSGS_PER_SECOND:,} msg/s → "
        f"{events / RELAY_MSGS_PER_SECOND:.0f} s"
    )
    per_second = NATIONAL_ITEMS_PER_DAY / 86_400
    peak = per_second * PEAK_FACTOR
    print(
        f"  ordinary items: {per_second:.1f}/s on average, ~{peak:.0f}/s at a {PEAK_FACTOR}× peak "
        f"— ~{peak * 3:.0f} portal deliveries/s, {peak * 3 / rate:.1%} of one worker"
    )
    wechat = channels.get("wechat")
    if wechat and wechat["p50"]:
        per_worker = CHANNEL_BATCH / wechat["p50"]  # a pass leases a batch and posts it at once
        workers = math.ceil(NATIONAL_ACCOUNTS / per_worker / 600)
        print(
            f"  new-media: one post per account, ~{wechat['p50']:.2f} s each (WeChat, measured), "
            f"{CHANNEL_BATCH} in flight per channel worker → ~{per_worker:.0f} posts/s each; "
            f"{NATIONAL_ACCOUNTS:,} posts in 10 min need ≥{workers} channel workers "
            "(PostgreSQL, SKIP LOCKED); one post per account is within the per-account limits "
            "(a Weibo app's daily limit is per app: 1,000 accounts per app key at most)"
        )
    # partitions are for parallelism (one consumer per partition and group), not volume: even
    # the peak is far below one partition's rate; a keyed topic cannot grow later without
    # moving keys, so it is sized for four times the workers needed now
    workers = 1 + math.ceil(peak * 3 / rate) + 1  # the big document's worker, the rest, one spare
    print(
        f"  distribute consumers: {workers} (one busy with the big document, one for the rest, "
        f"one spare) → {4 * workers} partitions per topic (room for 4× the workers); replicas 3, "
        "min.insync.replicas 2, acks=all (one broker may fail with nothing lost)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=3, help="items to the sandbox accounts")
    parser.add_argument("--national", action="store_true")
    parser.add_argument("--subscribers", type=int, default=500, help="app subscribers (webhooks)")
    parser.add_argument("--slow-every", type=int, default=10, help="every n-th subscriber slow")
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
            # the same tree, one column: separates the per-site cost from the per-target one
            narrow = await release_once(app, "fanout2", 1) if args.columns > 1 else measured
            async with app.state.db.engine.connect() as conn:
                sites = await conn.scalar(select(func.count()).select_from(table_of(Site)))
        channel_url = (
            f"sqlite+aiosqlite:///{tmp}/channels.db"
            if args.database == "sqlite"
            else await fresh_postgres()
        )
        found = await sandboxes(channel_url, args.items) if args.items else {}
        hooks_url = (
            f"sqlite+aiosqlite:///{tmp}/hooks.db"
            if args.database == "sqlite"
            else await fresh_postgres()
        )
        hooks = (
            await subscribers(hooks_url, args.subscribers, args.slow_every)
            if args.subscribers
            else {"targets": 0}
        )
    report(measured, int(sites or 0), args.columns, args.database)
    if found:
        report_sandboxes(found, args.items)
    if hooks["targets"]:
        report_subscribers(hooks)
    if args.national:
        costs = Costs.of(measured, narrow, int(sites or 1), max(args.columns, 2))
        national(measured, costs, found)
    print(own_peak_line())


def no_ingest(request: httpx.Request) -> httpx.Response:
    """The bench hands distribute every version itself; ingest is never asked."""
    return httpx.Response(404, json={})


async def fresh_postgres() -> str:
    """A new database on the local PostgreSQL (postgres@127.0.0.1:5432), dropped at exit."""
    import asyncpg

    name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    CREATED.append(name)
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_created() -> None:
    import asyncpg

    if not CREATED:
        return
    conn = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        for name in CREATED:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        asyncio.run(drop_created())
