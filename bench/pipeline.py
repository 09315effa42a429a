"""Pipeline benchmark: submit → three review stages → delivered on every target.

Prints items/s and p50/p99 latency from the last approval to `content.published` (emitted once
every target is delivered), next to what it is measured against in the same run on the same
machine: the rate of the same submissions alone (ingest only, no review; the issue's target:
the pipeline ≥ 50 % of it), a raw aiokafka produce→consume round trip on the same broker
(target: approval→delivered p99 ≤ 10× its p99), and a bare FastAPI endpoint's requests/s with
the same HTTP client. Ratios are the figures to compare across machines.

An item is delivered once its portal column, the demo's two WeChat and two Weibo accounts have
it; the platforms' posting limits are lifted for the run (at WeChat's 20 a day per account the
21st item would wait for tomorrow).

    .venv/bin/python bench/pipeline.py --items 200 [--database postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ceilings import bare_requests_per_second, kafka_round_trip, percentile  # noqa: E402
from bench.memory import CpuMeter, cores_line, hub_processes, memory_line, processes_mb  # noqa: E402
from bench.submit import submission_rate  # noqa: E402
from common.events import CloudEvent, ContentPublished, DeliveryUpdated  # noqa: E402
from tests.e2e.channels import FAST_CHANNELS, UNLIMITED_CHANNELS, Sandboxes  # noqa: E402
from tests.e2e.hub import HubClient, notice, running_hub  # noqa: E402

# the ingest-alone phase's notices are numbered from here; the pipeline's from 0
ALONE_FIRST = 1_000_000
# an approved item not delivered this long after the last approval is reported, not waited for
DELIVERY_DEADLINE_SECONDS = 60


@dataclass
class Arrivals:
    """When each item was first seen live on its portal column and delivered everywhere."""

    portal: dict[str, float] = field(default_factory=dict)
    everywhere: dict[str, float] = field(default_factory=dict)

    def note(self, topic: str, data: dict[str, Any]) -> None:
        now = time.perf_counter()
        if topic == ContentPublished.TOPIC:
            self.everywhere.setdefault(data["content_id"], now)
        elif data["target"].startswith("portal:") and data["state"] == "delivered":
            self.portal.setdefault(data["content_id"], now)


async def watch(bootstrap: str, arrivals: Arrivals, ready: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        ContentPublished.TOPIC,
        DeliveryUpdated.TOPIC,
        bootstrap_servers=bootstrap,
        fetch_max_wait_ms=20,
        auto_offset_reset="latest",
        group_id=f"bench-published-{time.time()}",
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            if consumer.assignment():
                ready.set()
            for partition, records in batch.items():
                for record in records:
                    arrivals.note(partition.topic, CloudEvent.from_bytes(record.value).data)
    finally:
        await consumer.stop()


def latency(approved_at: dict[str, float], arrived: dict[str, float]) -> tuple[float, float]:
    """p50 and p99 milliseconds from each item's last approval to its arrival."""
    values = [(arrived[i] - approved_at[i]) * 1000 for i in approved_at]
    return statistics.median(values), percentile(values, 0.99)


async def arrived_all(
    approved_at: dict[str, float], arrived: dict[str, float], deadline: float, what: str
) -> None:
    """Wait until every approved item has arrived; past `deadline`, exit naming the missing."""
    while missing := [i for i in approved_at if i not in arrived]:
        if time.perf_counter() > deadline:
            raise SystemExit(
                f"{len(missing)} of {len(approved_at)} approved items not {what} within "
                f"{DELIVERY_DEADLINE_SECONDS} s of the last approval, e.g. {missing[:5]}"
            )
        await asyncio.sleep(0.05)


async def run_pipeline(
    hub: HubClient, bootstrap: str, items: int, concurrency: int
) -> dict[str, float]:
    arrivals, ready = Arrivals(), asyncio.Event()
    watcher = asyncio.create_task(watch(bootstrap, arrivals, ready))
    await ready.wait()
    await asyncio.sleep(1)
    approved_at: dict[str, float] = {}
    semaphore = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with semaphore:
            accepted = await hub.submit(notice(n, "news"))
            await hub.approve_all_stages(accepted["id"])
            approved_at[accepted["id"]] = time.perf_counter()

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(items)))
    deadline = time.perf_counter() + DELIVERY_DEADLINE_SECONDS
    await arrived_all(approved_at, arrivals.everywhere, deadline, "delivered everywhere")
    elapsed = time.perf_counter() - started
    # the portal's delivery.updated may be read after the item's content.published
    await arrived_all(approved_at, arrivals.portal, deadline, "live on the portal")
    watcher.cancel()
    portal_p50, portal_p99 = latency(approved_at, arrivals.portal)
    everywhere_p50, everywhere_p99 = latency(approved_at, arrivals.everywhere)
    signed_off = max(approved_at.values()) - started
    portal_done = max(arrivals.portal.values()) - started
    return {
        "items_per_s": items / elapsed,
        "signed_off_per_s": items / signed_off,
        "portal_per_s": items / portal_done,
        "portal_p50_ms": portal_p50,
        "portal_p99_ms": portal_p99,
        "p50_ms": everywhere_p50,
        "p99_ms": everywhere_p99,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="items in flight at once (1 shows latency without queueing)",
    )
    parser.add_argument("--keep", type=Path, help="keep the hub's logs and databases here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        # the hub's throughput, not the platforms' quotas (see the module's docstring)
        hub_env = {**FAST_CHANNELS, **UNLIMITED_CHANNELS}
        async with running_hub(args.keep or Path(scratch), args.database, hub_env) as stack:
            hub, boxes = HubClient(stack.config.url("gateway")), Sandboxes(stack)
            try:
                await boxes.lift_limits()
                # other notices than the pipeline's, so none is merged as already known
                alone_bodies = [
                    notice(n, "news") for n in range(ALONE_FIRST, ALONE_FIRST + args.items)
                ]
                alone = await submission_rate(stack, hub, alone_bodies, args.concurrency)
                meter = CpuMeter(hub_processes(stack))
                pipeline = await run_pipeline(
                    hub, stack.config.bootstrap, args.items, args.concurrency
                )
                cores = meter.cores()
            finally:
                await hub.close()
                await boxes.close()
            kafka = await kafka_round_trip(stack.config.bootstrap)
            memory = processes_mb(hub_processes(stack))
    bare = await bare_requests_per_second()
    report(args, alone.rate, pipeline, kafka, bare)
    print(f"pipeline phase {cores_line(cores)}")
    print(memory_line(memory))


def report(
    args: argparse.Namespace,
    alone_rate: float,
    pipeline: dict[str, float],
    kafka: list[float],
    bare: float,
) -> None:
    kafka_p50, kafka_p99 = statistics.median(kafka), percentile(kafka, 0.99)
    print(
        f"pipeline ({args.database}, {args.items} items, {args.concurrency} in flight): "
        f"{pipeline['items_per_s']:.1f} items/s delivered everywhere; "
        f"{pipeline['portal_per_s']:.1f} items/s live on the portal; "
        f"{pipeline['signed_off_per_s']:.1f} items/s submitted and signed off"
    )
    print(
        f"  approval→live on the portal p50 {pipeline['portal_p50_ms']:.0f} ms, "
        f"p99 {pipeline['portal_p99_ms']:.0f} ms; approval→delivered everywhere (WeChat's "
        f"publishing and its confirmation included) p50 {pipeline['p50_ms']:.0f} ms, "
        f"p99 {pipeline['p99_ms']:.0f} ms"
    )
    print(f"ceiling: raw Kafka produce→consume p50 {kafka_p50:.1f} ms, p99 {kafka_p99:.1f} ms")
    share, hops = pipeline["items_per_s"] / alone_rate, pipeline["portal_p99_ms"] / kafka_p99
    print(
        f"ingest alone (the same submissions, no review): {alone_rate:.1f} items/s; "
        f"pipeline = {share:.1%} of it [target: ≥ 50% {'ok' if share >= 0.5 else 'MISSED'}]"
    )
    print(
        f"approval→live on the portal p99 = {hops:.1f}× the Kafka round trip's p99 "
        f"[target: ≤ 10× {'ok' if hops <= 10 else 'MISSED'}]"
    )
    print(f"ceiling: bare FastAPI endpoint {bare:.0f} req/s (32 concurrent, same client)")
    print(
        f"ratios: portal latency p50 / Kafka hop p50 = "
        f"{pipeline['portal_p50_ms'] / kafka_p50:.1f}; "
        f"bare req/s / items/s = {bare / pipeline['items_per_s']:.0f} "
        "(each item costs ≥ 5 gateway requests and 4 Kafka hops)"
    )


if __name__ == "__main__":
    asyncio.run(main())
