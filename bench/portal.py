"""Portal read path benchmark: what a portal front end and a citizen hit, next to the ceiling.

    .venv/bin/python bench/portal.py [--items 10000] [--database sqlite|postgres]
                                     [--seconds 10] [--rounds 3] [--connections 32]

1. Starts the hub the way `make run` does (every process, gateway in front) and loads `--items`
   realistic ~3 KB notices into the five columns of the demo site `province` by the path every
   item takes: submitted through the gateway, signed off at all three review stages, published
   by distribute. Loading is not timed against anything; its rate is printed for reference.
2. Drives `wrk` (Debian's `wrk`, `make bench-tools`) through the gateway at: `/healthz`, a column
   list (first and later pages), an item detail (random items), a column RSS feed, and the
   site search (two-character, word and multi-word queries) — and at a bare FastAPI route
   returning the same kind of precomputed JSON bytes, started by the bench on the same machine.
   Each figure is the median of `--rounds` runs of `--seconds`, interleaved with the bare route
   so a noisy neighbour hits both alike.
   The same paths are also driven at the service behind the gateway (`… direct`), so the
   gateway's own share of the cost shows.
3. Prints req/s and p99 of each, the ratio to the bare route (req/s %, p99 ×) and the issue's
   target for it, and the resident memory of every process of the hub.
4. Restarts distribute and the gateway with two server processes each (`KITCHEN_WORKERS=2`, on
   the same data) and drives the gateway's paths again, printing how req/s scaled from one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ceilings import BARE_APP  # noqa: E402
from bench.memory import hub_processes, memory_line, processes_mb  # noqa: E402
from common.testing import free_port  # noqa: E402
from kitchen.stack import Stack  # noqa: E402
from tests.e2e.hub import HubClient, running_hub  # noqa: E402

SITE = "province"
COLUMNS = ("news", "notices", "policies", "interpretations", "interviews")
WARM_UP_SECONDS = 2
# wrk's requests all come from one address: at the hub's own limit for tests (100,000 a minute)
# a fast run was refused with 429s part-way through a workload, counted as errors
BENCH_ENV = {"KITCHEN_PUBLIC_RATE_PER_MINUTE": "1000000000"}
SEARCHES = ("政府", "信息公开", "政府网站 信息公开")
# Notices are sentences drawn from these parts, so no two are near-duplicates (which ingest would
# merge) and the search terms above occur in many of them.
PLACES = "成都市 绵阳市 自贡市 攀枝花市 泸州市 德阳市 广元市 遂宁市 内江市 乐山市".split()
SUBJECTS = "政府网站 政务新媒体 信息公开 安全生产 营商环境 乡村振兴 生态环境 社会保障".split()
ACTIONS = "开展检查 加强管理 完善制度 推进建设 落实责任 做好保障 强化监督 优化服务".split()
ENDINGS = "工作 专项行动 长效机制 考核评价 督查整改 协同联动".split()
# (name, target as a share of the bare route's req/s, p99 at most this many times the bare one)
TARGETS = {
    "healthz": (0.70, None),
    "column list": (0.50, 3.0),
    "item detail": (0.50, 3.0),
    "column feed": (0.40, None),
    "site search": (None, None),
}
# The service each workload's paths reach behind the gateway: measured directly too, so the
# gateway's share of the cost shows.
BEHIND = {
    "column list": "distribute",
    "item detail": "distribute",
    "column feed": "distribute",
    "site search": "ingest",
}
# What KITCHEN_WORKERS=2 is measured on: the read path's servers restarted with two processes.
READ_PATH = ("distribute", "gateway")
SCALING = ("healthz", "column list", "item detail", "column feed")
# wrk picks a path per request from the list the bench writes (`paths` below).
WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


@dataclass
class Figure:
    requests_per_second: float
    p99_ms: float
    errors: int


def parse_wrk(output: str) -> Figure:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", output)
    assert p99, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    count = int(errors.group(1)) if errors else 0
    if socket_errors:
        count += sum(int(n) for n in socket_errors.groups())
    return Figure(rate, float(p99.group(1)) * scale, count)


def run_wrk(base: str, paths: list[str], seconds: int, connections: int, scratch: Path) -> Figure:
    listing = scratch / f"paths-{time.monotonic_ns()}.txt"
    listing.write_text("\n".join(paths) + "\n", "utf-8")
    script = scratch / f"{listing.stem}.lua"
    script.write_text(WRK_SCRIPT % listing, "utf-8")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, base], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def notice_body(rng: random.Random, n: int) -> dict[str, object]:
    """A notice of about 3 KB (1,000 characters) of sentences picked at random."""
    sentences: list[str] = []
    while sum(map(len, sentences)) < 1000:
        parts = [rng.choice(PLACES), rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(ENDINGS)]
        sentences.append(f"{parts[0]}{parts[1]}{parts[2]}{parts[3]}第{rng.randrange(1000)}项。")
    return {
        "title": f"关于{sentences[0][:-1]}的通知（{n}）",
        "body_text": "\n".join("".join(sentences[i : i + 6]) for i in range(0, len(sentences), 6)),
        "kind": "notice",
        "site": SITE,
        "columns": [COLUMNS[n % len(COLUMNS)]],
        "publisher": "省人民政府办公厅",
    }


async def load(hub: HubClient, items: int, concurrency: int) -> list[str]:
    """Submit and sign off `items` notices; returns their ids once every one is listed."""
    ids: list[str] = []
    semaphore = asyncio.Semaphore(concurrency)
    rng = random.Random(7)

    async def one(n: int) -> None:
        async with semaphore:
            accepted = await hub.submit(notice_body(rng, n))
            await hub.approve_all_stages(accepted["id"])
            ids.append(accepted["id"])

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(items)))
    while sum(await listed_counts(hub)) < items:
        await asyncio.sleep(0.5)
    elapsed = time.perf_counter() - started
    print(f"loaded {items} items in {elapsed:.0f} s ({items / elapsed:.1f} items/s end to end)")
    return ids


async def listed_counts(hub: HubClient) -> list[int]:
    return [len(await hub.column_items(SITE, column)) for column in COLUMNS]


async def list_pages(hub: HubClient) -> list[str]:
    """First pages of every column and the next four pages of each (cursors as issued)."""
    paths = []
    for column in COLUMNS:
        path = f"/api/v1/sites/{SITE}/columns/{column}/items"
        cursor = None
        for _ in range(5):
            query = f"?limit=20&cursor={cursor}" if cursor else "?limit=20"
            paths.append(path + query)
            page = (await hub.http.get(path + query)).json()
            cursor = page["next_cursor"]
            if not cursor:
                break
    return paths


def start_bare(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (scratch / "bare.py").write_text(BARE_APP, "utf-8")
    command = [sys.executable, "-m", "uvicorn", "bare:app", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"], cwd=scratch)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/ping", timeout=1)
            return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the bare route did not start")


def report(name: str, figure: Figure, bare: Figure) -> str:
    share, p99_times = (
        figure.requests_per_second / bare.requests_per_second,
        figure.p99_ms / bare.p99_ms,
    )
    want_share, want_p99 = TARGETS.get(name, (None, None))
    wants = []
    if want_share is not None:
        wants.append(f"req/s ≥ {want_share:.0%} {'ok' if share >= want_share else 'MISSED'}")
    if want_p99 is not None:
        wants.append(f"p99 ≤ {want_p99:.0f}× {'ok' if p99_times <= want_p99 else 'MISSED'}")
    return (
        f"{name:18} {figure.requests_per_second:8.0f} req/s  p99 {figure.p99_ms:7.1f} ms  "
        f"= {share:6.1%} of bare, p99 {p99_times:5.1f}×  errors {figure.errors}"
        + (f"  [target: {', '.join(wants)}]" if wants else "")
    )


def bare_line(bare: Figure) -> str:
    return f"{'bare route':18} {bare.requests_per_second:8.0f} req/s  p99 {bare.p99_ms:7.1f} ms"


def median_figure(figures: list[Figure]) -> Figure:
    return Figure(
        statistics.median(f.requests_per_second for f in figures),
        statistics.median(f.p99_ms for f in figures),
        sum(f.errors for f in figures),
    )


def measure(
    workloads: dict[str, tuple[list[str], list[str | None]]],
    bare_url: str,
    args: argparse.Namespace,
    scratch: Path,
) -> dict[str, Figure]:
    """Median figure of each workload at each of its bases (`name`, `name direct`), and of the
    bare route run before each workload, so a noisy neighbour hits both alike."""
    figures: dict[str, list[Figure]] = {"bare": []}
    for _ in range(args.rounds):
        for name, (paths, bases) in workloads.items():
            figures["bare"].append(
                run_wrk(bare_url, ["/ping"], args.seconds, args.connections, scratch)
            )
            for base, label in zip(bases, (name, f"{name} direct"), strict=False):
                if base is not None:
                    figure = run_wrk(base, paths, args.seconds, args.connections, scratch)
                    figures.setdefault(label, []).append(figure)
    return {label: median_figure(runs) for label, runs in figures.items()}


def warm_up(
    bases: list[str], paths: dict[str, list[str]], args: argparse.Namespace, scratch: Path
) -> None:
    """Drive every path briefly and throw the figures away: freshly started processes still fill
    their caches and connection pools, and the first seconds would measure that instead."""
    for base in bases:
        for listing in paths.values():
            run_wrk(base, listing, WARM_UP_SECONDS, args.connections, scratch)


def rescale(stack: Stack, workers: int, processes: tuple[str, ...]) -> None:
    """Restart `processes` with `workers` server processes each, on the same data."""
    stack.config.workers = workers
    for process in processes:
        stack.stop(process)
        stack.start(process)
    for process in processes:
        stack.wait_ready(process)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--load-concurrency", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="keep the hub's logs and databases here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench-tools` (Debian's wrk) installs it")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = args.keep or Path(scratch_dir)
        async with running_hub(scratch / "hub", args.database, BENCH_ENV) as stack:
            hub = HubClient(stack.config.url("gateway"))
            try:
                ids = await load(hub, args.items, args.load_concurrency)
                rng = random.Random(11)
                paths = {
                    "healthz": ["/healthz"],
                    "column list": await list_pages(hub),
                    "item detail": [
                        f"/api/v1/sites/{SITE}/items/{i}"
                        for i in rng.sample(ids, min(len(ids), 500))
                    ],
                    "column feed": [f"/feeds/{SITE}/{column}.rss" for column in COLUMNS],
                    "site search": [f"/api/v1/sites/{SITE}/search?q={quote(q)}" for q in SEARCHES],
                }
            finally:
                await hub.close()
            gateway = stack.config.url("gateway")
            bare_server, bare_url = start_bare(scratch)
            try:
                warm_up([gateway], paths, args, scratch)
                one = measure(
                    {
                        name: (
                            listing,
                            [gateway, stack.config.url(BEHIND[name]) if name in BEHIND else None],
                        )
                        for name, listing in paths.items()
                    },
                    bare_url,
                    args,
                    scratch,
                )
                memory = processes_mb({**hub_processes(stack), "bare route": bare_server})
                rescale(stack, 2, READ_PATH)
                warm_up([gateway], {name: paths[name] for name in SCALING}, args, scratch)
                two = measure(
                    {name: (paths[name], [gateway]) for name in SCALING}, bare_url, args, scratch
                )
                memory_two = processes_mb(hub_processes(stack))
            finally:
                bare_server.terminate()
                bare_server.wait()
    bare = one["bare"]
    print(
        f"portal ({args.database}, {args.items} items, wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s, median of {args.rounds})"
    )
    print(bare_line(bare))
    for name in paths:
        print(report(name, one[name], bare))
        if name in BEHIND:
            print(report(f"{name} direct", one[f"{name} direct"], bare))
    print(memory_line(memory))
    print(f"KITCHEN_WORKERS=2 ({', '.join(READ_PATH)}: two processes each), same run")
    print(bare_line(two["bare"]))
    for name in SCALING:
        gain = two[name].requests_per_second / one[name].requests_per_second
        print(f"{report(name, two[name], two['bare'])}  ({gain:.2f}× of one worker)")
    print(memory_line(memory_two))


if __name__ == "__main__":
    asyncio.run(main())
