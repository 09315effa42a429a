"""`make run`: the whole hub on one machine with the embedded defaults, until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kitchen.stack import DEFAULT_PORTS, Stack, StackConfig

console = Console()


def local_config() -> StackConfig:
    """Ports follow `KITCHEN_PORT` (gateway); services sit at +101…+104 of the same base."""
    gateway_port = int(os.environ.get("KITCHEN_PORT", DEFAULT_PORTS["gateway"]))
    ports = {
        name: gateway_port + (port - DEFAULT_PORTS["gateway"])
        for name, port in DEFAULT_PORTS.items()
    }
    broker_port = int(os.environ.get("KITCHEN_KAFKA_PORT", 9092))
    return StackConfig(var_dir=Path("var"), ports=ports, broker_port=broker_port, demo=True)


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
    table.add_row("Kafka broker (tansu)", config.bootstrap)
    table.add_row("data and logs", str(config.var_dir.resolve()))
    console.print(table)
    console.print(
        "demo staff: admin, editor, reviewer1, reviewer2, reviewer3, office, handler "
        f"— password [bold]{password}[/] (KITCHEN_DEMO_PASSWORD)"
    )
    console.print("Ctrl-C stops everything; data under var/ is kept for the next run.\n")


def run_local() -> None:
    # The broker takes a moment to listen; its clients' connection errors are expected then.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    config = local_config()
    stack = Stack(config)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    console.print("starting broker, services and gateway …")
    try:
        stack.start_all()
        print_welcome(config)
        while not stopping:
            for name, child in list(stack.processes.items()):
                if child.poll() is not None:
                    console.print(
                        f"[red]{name} exited ({child.returncode}); see {stack.log_path(name)}[/]"
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        console.print("stopping: draining in-flight events, then stopping processes …")
        stack.stop_all()
        console.print("stopped.")
