"""Idle benchmark: what the hub costs while nothing happens, and what its latency setting buys.

Starts the hub as `make run` does (SQLite, the local broker), waits until it is quiet, then reads
the CPU time every process used over `--seconds`. It does so once per Kafka fetch wait
(`KITCHEN_KAFKA_FETCH_MAX_WAIT_MS`):

- the local one: the tansu broker holds every fetch until this timer even when data is waiting,
  so the wait is a hop's latency, and a short wait means many empty fetches while idle;
- the production one: Apache Kafka answers a fetch as soon as data arrives, so a long wait costs
  no latency there and few fetches while idle. On tansu it also shows what each hop would cost.

Next to each it measures a raw broker round trip at that wait (the latency side of the trade)
and, as the floor, an idle bare uvicorn process in the same run. Figures are % of one core.

    .venv/bin/python bench/idle.py [--seconds 20] [--waits 20,500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ceilings import BARE_APP, kafka_round_trip, percentile  # noqa: E402
from bench.memory import CpuMeter, hub_processes, memory_line, processes_mb  # noqa: E402
from common.testing import free_port  # noqa: E402
from kitchen.stack import SANDBOXES  # noqa: E402
from tests.e2e.hub import running_hub  # noqa: E402

SETTLE_SECONDS = 5.0  # after the stack reports no backlog: start-up jobs finish their first pass
TARGET_PERCENT = 5.0  # the whole hub, production settings, of one core


def cpu_percent(children: dict[str, Any], seconds: float) -> dict[str, float]:
    """Each child's CPU use over the next `seconds`, in % of one core."""
    meter = CpuMeter(children)
    time.sleep(seconds)
    return {name: 100 * core for name, core in meter.cores().items()}


def bare_idle_percent(seconds: float) -> float:
    """An idle bare FastAPI app under uvicorn: the floor any hub process starts from."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "bare.py").write_text(BARE_APP)
        command = [sys.executable, "-m", "uvicorn", "bare:app", "--port", str(free_port())]
        server = subprocess.Popen(command, cwd=scratch, stderr=subprocess.DEVNULL)
        try:
            time.sleep(2)  # imported and listening
            return cpu_percent({"bare": server}, seconds)["bare"]
        finally:
            server.terminate()
            server.wait()


async def idle_with(wait_ms: int, seconds: float) -> dict[str, Any]:
    env = {"KITCHEN_KAFKA_FETCH_MAX_WAIT_MS": str(wait_ms)}
    with tempfile.TemporaryDirectory() as scratch:
        async with running_hub(Path(scratch), "sqlite", env) as stack:
            await asyncio.to_thread(stack.drain, 60)
            await asyncio.sleep(SETTLE_SECONDS)
            children = hub_processes(stack)
            usage = await asyncio.to_thread(cpu_percent, children, seconds)
            memory = processes_mb(children)
            hop = await kafka_round_trip(stack.config.bootstrap, 100, wait_ms)
    hub = sum(p for name, p in usage.items() if name != "broker" and name not in SANDBOXES)
    return {"usage": usage, "hub": hub, "memory": memory, "hop": hop}


def report(wait_ms: int, measured: dict[str, Any], floor: float) -> None:
    usage, hop = measured["usage"], measured["hop"]
    parts = ", ".join(f"{name} {percent:.1f}" for name, percent in sorted(usage.items()))
    print(f"fetch wait {wait_ms} ms — idle CPU, % of one core: {parts}")
    print(
        f"  hub (gateway + services, without broker and sandboxes) {measured['hub']:.1f} % "
        f"= {measured['hub'] / max(floor, 0.01):.0f}× an idle bare uvicorn ({floor:.2f} %); "
        f"target ≤ {TARGET_PERCENT:.0f} % with production settings; "
        f"broker {usage['broker']:.1f} %"
    )
    print(
        f"  raw broker hop on tansu at this wait: p50 {statistics.median(hop):.0f} ms, "
        f"p99 {percentile(hop, 0.99):.0f} ms (Apache Kafka answers on arrival at any wait)"
    )
    print(f"  {memory_line(measured['memory'])}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--waits", default="20,500", help="fetch waits to compare, in ms")
    args = parser.parse_args()
    floor = await asyncio.to_thread(bare_idle_percent, args.seconds)
    for wait_ms in (int(wait) for wait in args.waits.split(",")):
        report(wait_ms, await idle_with(wait_ms, args.seconds), floor)


if __name__ == "__main__":
    asyncio.run(main())
