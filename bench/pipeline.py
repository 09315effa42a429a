"""Pipeline benchmark: submit → three review stages → delivered on every target.

Prints items/s and p50/p99 latency from the last approval to `content.published` (emitted once
every target is delivered), next to what it is measured against in the same run on the same
machine: the rate of the same submissions alone (ingest only, no review; the issue's target:
the pipeline ≥ 50 % of it), a raw aiokafka produce→consume round trip on the same broker
(target: approval→delivered p99 ≤ 10× its p99), and a bare FastAPI endpoint's requests/s with
the same HTTP client. Ratios are the figures to compare across machines.

    .venv/bin/python bench/pipeline.py --items 200 [--database postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ceilings import bare_requests_per_second, kafka_round_trip, percentile  # noqa: E402
from bench.memory import hub_processes, memory_line, processes_mb  # noqa: E402
from bench.submit import submission_rate  # noqa: E402
from common.events import CloudEvent, ContentPublished  # noqa: E402
from tests.e2e.hub import HubClient, notice, running_hub  # noqa: E402

# the ingest-alone phase's notices are numbered from here; the pipeline's from 0
ALONE_FIRST = 1_000_000


async def watch_published(bootstrap: str, seen: dict[str, float], ready: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        ContentPublished.TOPIC,
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
            for records in batch.values():
                for record in records:
                    data = CloudEvent.from_bytes(record.value).data
                    seen.setdefault(data["content_id"], time.perf_counter())
    finally:
        await consumer.stop()


async def run_pipeline(
    hub: HubClient, bootstrap: str, items: int, concurrency: int
) -> dict[str, float]:
    seen: dict[str, float] = {}
    ready = asyncio.Event()
    watcher = asyncio.create_task(watch_published(bootstrap, seen, ready))
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
    while len([i for i in approved_at if i in seen]) < items:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    watcher.cancel()
    latencies = [(seen[i] - approved_at[i]) * 1000 for i in approved_at]
    return {
        "items_per_s": items / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        async with running_hub(Path(scratch), args.database) as stack:
            hub = HubClient(stack.config.url("gateway"))
            try:
                # other notices than the pipeline's, so none is merged as already known
                alone_bodies = [
                    notice(n, "news") for n in range(ALONE_FIRST, ALONE_FIRST + args.items)
                ]
                alone = await submission_rate(stack, hub, alone_bodies, args.concurrency)
                pipeline = await run_pipeline(
                    hub, stack.config.bootstrap, args.items, args.concurrency
                )
            finally:
                await hub.close()
            kafka = await kafka_round_trip(stack.config.bootstrap)
            memory = processes_mb(hub_processes(stack))
    bare = await bare_requests_per_second()
    kafka_p50, kafka_p99 = statistics.median(kafka), percentile(kafka, 0.99)
    print(
        f"pipeline ({args.database}, {args.items} items): "
        f"{pipeline['items_per_s']:.1f} items/s; approval→delivered p50 "
        f"{pipeline['p50_ms']:.0f} ms, p99 {pipeline['p99_ms']:.0f} ms"
    )
    print(f"ceiling: raw Kafka produce→consume p50 {kafka_p50:.1f} ms, p99 {kafka_p99:.1f} ms")
    share, hops = pipeline["items_per_s"] / alone.rate, pipeline["p99_ms"] / kafka_p99
    print(
        f"ingest alone (the same submissions, no review): {alone.rate:.1f} items/s; "
        f"pipeline = {share:.1%} of it [target: ≥ 50% {'ok' if share >= 0.5 else 'MISSED'}]"
    )
    print(
        f"approval→delivered p99 = {hops:.1f}× the Kafka round trip's p99 "
        f"[target: ≤ 10× {'ok' if hops <= 10 else 'MISSED'}]"
    )
    print(f"ceiling: bare FastAPI endpoint {bare:.0f} req/s (32 concurrent, same client)")
    print(
        f"ratios: latency p50 / Kafka hop p50 = {pipeline['p50_ms'] / kafka_p50:.1f}; "
        f"bare req/s / items/s = {bare / pipeline['items_per_s']:.0f} "
        "(each item costs ≥ 5 gateway requests and 4 Kafka hops)"
    )
    print(memory_line(memory))


if __name__ == "__main__":
    asyncio.run(main())
