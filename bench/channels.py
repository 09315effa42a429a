"""New-media benchmark: approvals → confirmed posts on the WeChat and Weibo sandboxes.

Starts a whole hub (`running_hub`, the 2 WeChat + 2 Weibo demo accounts), submits and signs off
`--items` items of province/news (each goes to all four accounts), and prints:
- deliveries per second to the sandboxes (confirmed posts / time from the first sign-off to
  the last confirmation), and approval → confirmed p50/p99 per post, timed by the
  `delivery.updated` event that says `delivered` (heard on the broker);
- next to it, measured in the same run on the same sandboxes: a raw HTTP round trip
  (`GET /_sandbox/state` and a WeChat `stable_token` call) with the same HTTP client;
- the ratios, and each process's RSS (from /proc).

The platforms' posting limits (Weibo 30/hour/account, WeChat 10/minute) would spread a run
over hours: the hub's limits and the Weibo sandbox's are lifted for the run, and the WeChat
sandbox publishes a submitted job after `--publish-seconds` (the platform takes seconds to
minutes). WeChat posts are read back every `KITCHEN_WECHAT_CONFIRM_SECONDS` (0.5 here).

    .venv/bin/python bench/channels.py --items 50 [--database postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory import memory_line, processes_mb  # noqa: E402
from common.events import CloudEvent, DeliveryUpdated  # noqa: E402
from kitchen.sandboxes.demo import DEMO_ACCOUNTS  # noqa: E402
from kitchen.stack import Stack  # noqa: E402
from tests.e2e.channels import FAST_CHANNELS, UNLIMITED_CHANNELS, WECHAT, WEIBO, Sandboxes  # noqa: E402
from tests.e2e.hub import HubClient, notice, running_hub  # noqa: E402

BENCH_ENV = {**FAST_CHANNELS, **UNLIMITED_CHANNELS}
CHANNELS = ("wechat", "weibo")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def watch_confirmed(
    bootstrap: str, seen: dict[tuple[str, str], float], ready: asyncio.Event
) -> None:
    """When each (item, account target) was first announced `delivered` (perf_counter)."""
    consumer = AIOKafkaConsumer(
        DeliveryUpdated.TOPIC,
        bootstrap_servers=bootstrap,
        fetch_max_wait_ms=20,
        auto_offset_reset="latest",
        group_id=f"bench-channels-{time.time()}",
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
                    channel = str(data["target"]).split(":", 1)[0]
                    if channel in CHANNELS and data["state"] == "delivered":
                        key = (data["content_id"], data["target"])
                        seen.setdefault(key, time.perf_counter())
    finally:
        await consumer.stop()


async def run_channels(
    hub: HubClient, bootstrap: str, items: int, concurrency: int, accounts: int
) -> dict[str, float]:
    seen: dict[tuple[str, str], float] = {}
    ready = asyncio.Event()
    watcher = asyncio.create_task(watch_confirmed(bootstrap, seen, ready))
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
    expected = items * accounts
    deadline = time.monotonic() + 600
    while len([k for k in seen if k[0] in approved_at]) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(seen)} of {expected} posts confirmed after 600 s")
        await asyncio.sleep(0.05)
    elapsed = max(seen.values()) - started
    watcher.cancel()
    latencies = {
        channel: [
            (at - approved_at[content_id]) * 1000
            for (content_id, target), at in seen.items()
            if content_id in approved_at and target.startswith(channel)
        ]
        for channel in CHANNELS
    }
    every = [v for values in latencies.values() for v in values]
    return {
        "deliveries_per_s": expected / elapsed,
        "p50_ms": statistics.median(every),
        "p99_ms": percentile(every, 0.99),
        **{f"{c}_p50_ms": statistics.median(v) for c, v in latencies.items()},
        **{f"{c}_p99_ms": percentile(v, 0.99) for c, v in latencies.items()},
    }


async def raw_round_trips(stack: Stack, count: int = 300) -> dict[str, list[float]]:
    """Bare HTTP round trips (ms) to the same sandboxes, one at a time, same client library."""
    wechat = next(a for a in DEMO_ACCOUNTS if a["platform"] == "wechat")
    token_body = {"grant_type": "client_credential", **wechat["credentials"]}
    found: dict[str, list[float]] = {"state": [], "stable_token": []}
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(count):
            sent = time.perf_counter()
            (await client.get(f"{stack.config.url(WEIBO)}/_sandbox/state")).raise_for_status()
            found["state"].append((time.perf_counter() - sent) * 1000)
            sent = time.perf_counter()
            url = f"{stack.config.url(WECHAT)}/cgi-bin/stable_token"
            (await client.post(url, json=token_body)).raise_for_status()
            found["stable_token"].append((time.perf_counter() - sent) * 1000)
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=16, help="items signed off at once")
    parser.add_argument("--publish-seconds", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        async with running_hub(Path(scratch), args.database, BENCH_ENV) as stack:
            hub = HubClient(stack.config.url("gateway"))
            boxes = Sandboxes(stack)
            try:
                await boxes.lift_limits()
                await boxes.configure(WECHAT, publish_seconds=args.publish_seconds)
                result = await run_channels(
                    hub, stack.config.bootstrap, args.items, args.concurrency, len(DEMO_ACCOUNTS)
                )
                raw = await raw_round_trips(stack)
                memory = processes_mb(stack.processes)
            finally:
                await boxes.close()
                await hub.close()
    report(args, result, raw, memory)


def report(
    args: argparse.Namespace,
    result: dict[str, float],
    raw: dict[str, list[float]],
    memory: dict[str, float],
) -> None:
    state_p50, token_p50 = statistics.median(raw["state"]), statistics.median(raw["stable_token"])
    posts = args.items * len(DEMO_ACCOUNTS)
    print(
        f"channels ({args.database}, {args.items} items → {posts} posts on 2 WeChat + 2 Weibo "
        f"accounts, WeChat jobs publish after {args.publish_seconds} s): "
        f"{result['deliveries_per_s']:.1f} deliveries/s; approval→confirmed p50 "
        f"{result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms "
        f"(WeChat p50 {result['wechat_p50_ms']:.0f} / p99 {result['wechat_p99_ms']:.0f} ms, "
        f"Weibo p50 {result['weibo_p50_ms']:.0f} / p99 {result['weibo_p99_ms']:.0f} ms)"
    )
    print(
        f"raw HTTP round trip to the sandboxes: GET /_sandbox/state p50 {state_p50:.1f} ms, "
        f"p99 {percentile(raw['state'], 0.99):.1f} ms; WeChat stable_token p50 {token_p50:.1f} "
        f"ms, p99 {percentile(raw['stable_token'], 0.99):.1f} ms"
    )
    print(
        f"ratios: Weibo confirmed p50 / raw round trip p50 = "
        f"{result['weibo_p50_ms'] / state_p50:.0f}; WeChat confirmed p50 / stable_token p50 = "
        f"{result['wechat_p50_ms'] / token_p50:.0f}; raw round trips/s (1 at a time) / "
        f"deliveries/s = {1000 / state_p50 / result['deliveries_per_s']:.0f}"
    )
    print(memory_line(memory))


if __name__ == "__main__":
    asyncio.run(main())
