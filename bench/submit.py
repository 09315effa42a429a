"""Submissions through the gateway next to the preparation they pay for, in one run.

    .venv/bin/python bench/submit.py [--items 1000] [--database sqlite|postgres]
                                     [--concurrency 16]

1. Generates `--items` realistic ~3 KB notices (the portal bench's, so no two are
   near-duplicates that ingest would merge) and runs the in-process preparation every
   submission needs (`services.ingest.prepare.prepare`: cleaning, metadata, fingerprints,
   one jieba pass) over them: the rate the request path is measured against.
2. Starts the hub the way `make run` does and submits the same notices through the gateway
   (`POST /api/v1/contents`, an editor's token, `--concurrency` at a time). A submission is
   counted when it is answered 202 — stored in the library with its outbox event, the
   duplicate and near-duplicate checks done.
3. Restarts ingest with two server processes (`KITCHEN_WORKERS=2`) and submits as many new
   notices again, printing how the rate scaled.
4. Prints each rate, its share of the preparation rate (the issue's target: ≥ 50 %), p50 and
   p99 of a submission, and the resident memory of every process of the hub.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory import CpuMeter, cores_line, hub_processes, memory_line, processes_mb  # noqa: E402
from bench.portal import notice_body, rescale  # noqa: E402
from kitchen.stack import Stack  # noqa: E402
from services.ingest.chinese import warm_up  # noqa: E402
from services.ingest.prepare import Incoming, prepare  # noqa: E402
from tests.e2e.hub import HubClient, running_hub  # noqa: E402

TARGET_SHARE = 0.5


def notices(count: int, first: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [notice_body(rng, n) for n in range(first, first + count)]


def preparation_rate(bodies: list[dict[str, Any]]) -> float:
    """Documents per second through `prepare`, in this process."""
    warm_up()
    started = time.perf_counter()
    for body in bodies:
        prepare(
            Incoming(
                title=body["title"],
                kind=body["kind"],
                site=body["site"],
                columns=body["columns"],
                publisher=body["publisher"],
                channel="api",
                actor="editor",
                body_text=body["body_text"],
            )
        )
    return len(bodies) / (time.perf_counter() - started)


@dataclass
class Phase:
    """One phase's submissions: accepted (202) per second, each one's seconds, each process's
    share of a core, and how many got each status (a refusal or a failure is not counted in
    the rate)."""

    rate: float
    seconds: list[float]
    cores: dict[str, float]
    answers: dict[int, int]


async def submission_rate(
    stack: Stack, hub: HubClient, bodies: list[dict[str, Any]], concurrency: int
) -> Phase:
    """Submit `bodies` through the gateway, `concurrency` at a time."""
    semaphore = asyncio.Semaphore(concurrency)
    seconds: list[float] = []
    answers: dict[int, int] = {}

    async def one(body: dict[str, Any]) -> None:
        async with semaphore:
            started = time.perf_counter()
            answer = await hub.http.post("/api/v1/contents", json=body, headers=headers)
            seconds.append(time.perf_counter() - started)
            answers[answer.status_code] = answers.get(answer.status_code, 0) + 1

    headers = await hub.login("editor")
    meter = CpuMeter(hub_processes(stack))
    started = time.perf_counter()
    await asyncio.gather(*(one(body) for body in bodies))
    elapsed = time.perf_counter() - started
    return Phase(answers.get(202, 0) / elapsed, seconds, meter.cores(), answers)


def lines(name: str, phase: Phase, prepared: float) -> str:
    share = phase.rate / prepared
    verdict = "ok" if share >= TARGET_SHARE else "MISSED"
    quantiles = statistics.quantiles(phase.seconds, n=100)
    return (
        f"{name:24} {phase.rate:7.1f} docs/s = {share:6.1%} of preparation  "
        f"p50 {quantiles[49] * 1000:6.0f} ms  p99 {quantiles[98] * 1000:6.0f} ms  "
        f"[target: ≥ {TARGET_SHARE:.0%} {verdict}]  answers {dict(sorted(phase.answers.items()))}\n"
        + f"  {cores_line(phase.cores)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="keep the hub's logs and databases here")
    args = parser.parse_args()
    first, second = notices(args.items, 0, 7), notices(args.items, args.items, 8)
    prepared = preparation_rate(first + second)
    with tempfile.TemporaryDirectory() as scratch:
        async with running_hub(args.keep or Path(scratch), args.database) as stack:
            hub = HubClient(stack.config.url("gateway"))
            try:
                one = await submission_rate(stack, hub, first, args.concurrency)
                memory = processes_mb(hub_processes(stack))
                rescale(stack, 2, ("ingest",))
                two = await submission_rate(stack, hub, second, args.concurrency)
                memory_two = processes_mb(hub_processes(stack))
            finally:
                await hub.close()
    print(
        f"submissions ({args.database}, {args.items} notices of ~3 KB per phase, "
        f"{args.concurrency} at a time)"
    )
    print(f"{'preparation in-process':24} {prepared:7.1f} docs/s  (the baseline)")
    print(lines("through the gateway", one, prepared))
    print(memory_line(memory))
    print(
        f"KITCHEN_WORKERS=2 (ingest: two processes), new notices: {two.rate / one.rate:.2f}× of one"
    )
    print(lines("through the gateway", two, prepared))
    print(memory_line(memory_two))


if __name__ == "__main__":
    asyncio.run(main())
