"""Benchmark of the interaction service, each figure next to a bare baseline from the same run.

    .venv/bin/python bench/interaction.py [--seconds 5] [--concurrency 32]

1. cases accepted per second: `POST /api/v1/cases` (form token, abuse checks, clock, outbox)
   and the office's `POST /cases/{n}/accept`, against one uvicorn worker on SQLite, next to a
   bare FastAPI endpoint returning orjson bytes (same uvicorn settings).
2. deadline computations per second: `WorkCalendar.add_working_days(d, 7)` next to a bare
   calendar lookup (`is_workday`), in-process; and `GET /calendar/due-date` over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import memory_line, processes_mb  # noqa: E402
from common.testing import free_port, staff  # noqa: E402

bare_app = FastAPI()


@bare_app.post("/bare")
async def bare() -> Response:
    return Response(orjson.dumps({"ok": True}), media_type="application/json")


def serve(target: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if target.endswith("create_app"):
        command.append("--factory")
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    )


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def drive(make_request, seconds: float, concurrency: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Requests per second and p99 latency (ms) over `seconds` with `concurrency` workers."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(n: int) -> None:
            i = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await make_request(client, n, i)
                if response is None:  # nothing left to do
                    return
                assert response.status_code < 300, response.text
                latencies.append(time.perf_counter() - started)
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


def calendar_figures(seconds: float) -> dict[str, float]:
    from services.interaction.calendar import WorkCalendar, official_year, provisional_year

    calendar = WorkCalendar(
        [d for y in range(2024, 2027) for d in official_year(y)] + provisional_year(2027)
    )
    days = [date(2024, 1, 1) + timedelta(days=random.randrange(1000)) for _ in range(10_000)]
    figures = {}
    for name, function in (
        ("bare is_workday lookup", calendar.is_workday),
        ("add_working_days(d, 7)", lambda d: calendar.add_working_days(d, 7)),
    ):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for d in days:
                function(d)
            count += len(days)
        figures[name] = count / (time.perf_counter() - started)
    return figures


async def main(seconds: float, concurrency: int) -> None:
    scratch = Path(tempfile.mkdtemp())
    app_port, bare_port = free_port(), free_port()
    env = {
        "KITCHEN_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'interaction.db'}",
        "KITCHEN_PROCESS_ROLE": "api",
        "KITCHEN_MIN_FORM_SECONDS": "0",
        "KITCHEN_RATE_LIMIT_PER_IP": "100000000",
        "KITCHEN_LOG_LEVEL": "WARNING",
    }
    processes = [
        serve("services.interaction.app:create_app", app_port, env),
        serve("interaction:bare_app", bare_port, {}),
    ]
    try:
        base = f"http://127.0.0.1:{app_port}"
        await wait_up(f"{base}/healthz")
        await wait_up(f"http://127.0.0.1:{bare_port}/docs")
        async with httpx.AsyncClient(base_url=base) as client:
            form = (await client.get("/api/v1/cases/form")).json()["form_token"]
        numbers: list[str] = []

        async def submit(client: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
            body = {
                "kind": "message",
                "title": f"基准测试 {n}-{i}",
                "body": f"内容 {n}-{i} 学校门口交通拥堵",
                "phone": f"139{n:04d}{i % 10000:04d}",
                "form_token": form,
            }
            response = await client.post(f"{base}/api/v1/cases", json=body)
            if response.status_code == 201:
                numbers.append(response.json()["number"])
            else:
                print("submission refused:", response.status_code, response.text[:300])
            return response

        office = staff("office", ("office",))
        pending: Iterator[str] = iter([])

        async def accept(client: httpx.AsyncClient, n: int, i: int) -> httpx.Response | None:
            number = next(pending, None)
            if number is None:
                return None
            return await client.post(f"{base}/api/v1/cases/{number}/accept", headers=office)

        async def bare_post(client: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
            return await client.post(f"http://127.0.0.1:{bare_port}/bare", json={"x": 1})

        async def due(client: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
            start = date(2025, 1, 1) + timedelta(days=(n * 97 + i) % 700)
            return await client.get(
                f"{base}/api/v1/calendar/due-date",
                params={"from": start.isoformat(), "working_days": 7},
            )

        rows = []
        rows.append(("bare FastAPI POST (orjson)", *await drive(bare_post, seconds, concurrency)))
        rows.append(("POST /api/v1/cases (submission)", *await drive(submit, seconds, concurrency)))
        pending = iter(list(numbers))
        accept_seconds = min(seconds, len(numbers) / max(rows[-1][1], 1) * 0.8)
        rows.append(
            ("POST /cases/{n}/accept (office)", *await drive(accept, accept_seconds, concurrency))
        )
        rows.append(("GET /calendar/due-date", *await drive(due, seconds, concurrency)))
        print(
            f"\nHTTP, one uvicorn worker each, SQLite, concurrency {concurrency}, {seconds:.0f} s"
        )
        print(f"{'endpoint':40} {'req/s':>10} {'p99 ms':>8}")
        for name, rate, p99 in rows:
            print(f"{name:40} {rate:10.0f} {p99:8.1f}")
        print(memory_line(processes_mb({"interaction": processes[0], "bare": processes[1]})))
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    print("\nin-process calendar (one core)")
    for name, rate in calendar_figures(seconds / 2).items():
        print(f"{name:40} {rate:12,.0f} /s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency))
