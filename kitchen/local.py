"""`make run`: the whole hub on one machine with the embedded defaults, until Ctrl-C.

What it promises: nothing starts if a port it needs is taken (the message names the port and
the service); the banner appears only once every service of its own answers `/readyz`; Ctrl-C
or SIGTERM drains in-flight events and stops everything; if the supervisor itself dies, even by
SIGKILL, the kernel takes the broker and the services with it (kitchen.broker.start_child).
It exits non-zero when something failed.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kitchen.stack import DEFAULT_PORTS, SCALED, PortsInUse, Stack, StackConfig

console = Console()
# more processes than cores only adds switching; 16 leaves room for a large machine
MAX_WORKERS = 16


def local_config() -> StackConfig:
    """Ports follow `KITCHEN_PORT` (gateway); services sit at +101…+104 of the same base."""
    gateway_port = int(os.environ.get("KITCHEN_PORT", DEFAULT_PORTS["gateway"]))
    ports = {
        name: gateway_port + (port - DEFAULT_PORTS["gateway"])
        for name, port in DEFAULT_PORTS.items()
    }
    broker_port = int(os.environ.get("KITCHEN_KAFKA_PORT", 9092))
    return StackConfig(
        var_dir=Path("var"), ports=ports, broker_port=broker_port, demo=True, workers=workers()
    )


def workers() -> int:
    """`KITCHEN_WORKERS`: server processes of each CPU-bound service (1 to MAX_WORKERS)."""
    raw = os.environ.get("KITCHEN_WORKERS", "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_WORKERS:
        raise SystemExit(f"KITCHEN_WORKERS must be a whole number from 1 to {MAX_WORKERS}: {raw!r}")
    return int(raw)


def print_welcome(config: StackConfig) -> None:
    password = os.environ.get("KITCHEN_DEMO_PASSWORD", "kitchen-demo")
    gateway = config.url("gateway")
    console.print(f"\n[bold green]信息中央厨房 is running[/] — gateway {gateway}")
    table = Table("what", "where")
    table.add_row("staff console (工作台)", f"{gateway}/console/")
    table.add_row("API docs (OpenAPI)", f"{gateway}/docs")
    table.add_row("public sites", f"{gateway}/api/v1/sites")
    table.add_row("feed example", f"{gateway}/feeds/province/news.rss")
    table.add_row("staff login", f"POST {gateway}/api/v1/auth/token (form: username, password)")
    for name in ("ingest", "review", "distribute", "interaction"):
        table.add_row(f"{name} service", config.url(name))
    table.add_row("WeChat sandbox (what landed on each account)", config.url("wechat-sandbox"))
    table.add_row("Weibo sandbox (what landed on each account)", config.url("weibo-sandbox"))
    table.add_row(
        "server processes (KITCHEN_WORKERS)", f"{config.workers} each of {', '.join(SCALED)}"
    )
    table.add_row("Kafka broker (tansu)", config.bootstrap)
    table.add_row("data and logs", str(config.var_dir.resolve()))
    console.print(table)
    console.print(
        "demo staff: admin, editor, reviewer1, reviewer2, reviewer3, office, handler "
        f"— password [bold]{password}[/] (KITCHEN_DEMO_PASSWORD)"
    )
    console.print("Ctrl-C stops everything; data under var/ is kept for the next run.\n")


def watch(stack: Stack, stop_requested: Callable[[], bool]) -> str | None:
    """Until a stop is requested or a child exits; returns what failed, if anything did."""
    while not stop_requested():
        for name in ("broker", *stack.processes):
            try:
                stack.check_alive(name)
            except RuntimeError as error:
                return str(error)
        time.sleep(0.5)
    return None


def run_local() -> None:
    # The broker takes a moment to listen; its clients' connection errors are expected then.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    config = local_config()
    stack = Stack(config)
    try:
        stack.check_ports()
    except PortsInUse as error:
        console.print(
            f"[red]{error} — another kitchen run? set KITCHEN_PORT / KITCHEN_KAFKA_PORT[/]"
        )
        raise SystemExit(1) from None

    running = False
    stop_requested = False

    def request_stop(*_: object) -> None:
        nonlocal stop_requested
        if not running:
            # While starting: give up on the start (what did start is stopped below). While
            # stopping, a second signal: leave now — the children die with this process.
            raise KeyboardInterrupt
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    console.print("starting broker, services and gateway …")
    failure: str | None = None
    try:
        stack.start_all()
        print_welcome(config)
        running = True
        failure = watch(stack, lambda: stop_requested)
    except (RuntimeError, TimeoutError) as error:
        failure = str(error)
    except KeyboardInterrupt:
        console.print("interrupted while starting")
    finally:
        running = False
        if failure:
            console.print(f"[red]{failure}[/]")
        console.print("stopping: draining in-flight events, then stopping processes …")
        try:
            stack.stop_all()
        except KeyboardInterrupt:
            console.print("[red]stopped without draining[/]")
            raise SystemExit(130) from None
    console.print("stopped.")
    if failure:
        raise SystemExit(1)
