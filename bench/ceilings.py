"""The ceilings the benches measure the hub against in the same run: a bare FastAPI route and a
raw produce→consume round trip on the same broker."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.testing import free_port  # noqa: E402

BARE_APP = """
from fastapi import FastAPI, Response
app = FastAPI()
@app.get("/ping")
async def ping() -> Response:
    return Response(b'{"ok":true}', media_type="application/json")
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def kafka_round_trip(
    bootstrap: str, count: int = 300, fetch_max_wait_ms: int = 20
) -> list[float]:
    """Produce→consume latency of single messages at a steady pace (ms)."""
    topic = "bench.roundtrip"
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        fetch_max_wait_ms=fetch_max_wait_ms,
        auto_offset_reset="latest",
        group_id=f"bench-{time.time()}",
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    latencies: list[float] = []
    try:
        for n in range(count):
            sent = time.perf_counter()
            await producer.send_and_wait(topic, str(n).encode())
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                if any(r.value == str(n).encode() for rs in batch.values() for r in rs):
                    break
            latencies.append((time.perf_counter() - sent) * 1000)
    finally:
        await producer.stop()
        await consumer.stop()
    return latencies


async def bare_requests_per_second(seconds: float = 3.0, concurrency: int = 32) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "bare.py").write_text(BARE_APP)
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before timing
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=scratch,
        )
        try:
            return await hammer(f"http://127.0.0.1:{port}/ping", seconds, concurrency)
        finally:
            server.terminate()
            server.wait()


async def hammer(url: str, seconds: float, concurrency: int) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(50):
            try:
                await client.get(url)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await client.get(url)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)
