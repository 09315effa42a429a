"""Starts the whole hub as local processes: broker, four services, gateway.

Used by `make run` (`kitchen run`) and by the end-to-end tests, so what the tests exercise is
what a newcomer runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kitchen.broker import run_prepare, start_broker, stop_process
from kitchen.registry import SERVICES

DEFAULT_PORTS = {
    "gateway": 8000,
    "ingest": 8101,
    "review": 8102,
    "distribute": 8103,
    "interaction": 8104,
}


@dataclass
class StackConfig:
    """Where everything listens and keeps its data."""

    var_dir: Path = Path("var")
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    broker_port: int = 9092
    database_urls: dict[str, str] = field(default_factory=dict)  # empty → SQLite in var_dir
    demo: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.ports[process]}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def database_url(self, process: str) -> str:
        default = f"sqlite+aiosqlite:///{(self.var_dir / f'{process}.db').resolve()}"
        return self.database_urls.get(process, default)


class Stack:
    """The hub's processes; start, stop, kill and restart them one by one or all together."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.broker: subprocess.Popen[bytes] | None = None
        config.var_dir.mkdir(parents=True, exist_ok=True)
        (config.var_dir / "logs").mkdir(exist_ok=True)

    def log_path(self, process: str) -> Path:
        return self.config.var_dir / "logs" / f"{process}.log"

    def start_broker(self) -> None:
        self.broker = start_broker(self.config.broker_port, self.log_path("broker"))
        run_prepare(self.config.bootstrap)

    def restart_broker(self) -> None:
        """Bring a stopped broker back with every topic in place before anyone reconnects.

        tansu's memory storage forgets topics, and it accepts produce requests for a topic that
        no longer exists and then drops them; real Kafka keeps topics across restarts. So the
        services are paused (SIGSTOP) while the topics are recreated, and resumed after.
        """
        for child in self.processes.values():
            os.killpg(child.pid, signal.SIGSTOP)
        try:
            self.start_broker()
        finally:
            for child in self.processes.values():
                os.killpg(child.pid, signal.SIGCONT)

    def stop_broker(self) -> None:
        if self.broker is not None:
            stop_process(self.broker)
            self.broker = None

    def environment(self, process: str) -> dict[str, str]:
        config = self.config
        env = {
            **os.environ,
            "KITCHEN_DATABASE_URL": config.database_url(process),
            "KITCHEN_KAFKA_BOOTSTRAP": config.bootstrap,
            "KITCHEN_PROCESS_ROLE": "all",
            "KITCHEN_DEMO": str(config.demo).lower(),
            "KITCHEN_SEED_DEMO": str(config.demo).lower(),
            "KITCHEN_PUBLIC_BASE_URL": config.url("gateway"),
            **{f"KITCHEN_{name.upper()}_URL": config.url(name) for name in SERVICES},
            **config.extra_env,
        }
        return env

    def start(self, process: str) -> None:
        app = (
            "gateway.app:create_app"
            if process == "gateway"
            else (f"services.{process}.app:create_app")
        )
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.config.ports[process]),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "10",
        ]
        log = open(self.log_path(process), "ab")  # noqa: SIM115 - owned by the child
        self.processes[process] = subprocess.Popen(
            command,
            env=self.environment(process),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, process: str, within_seconds: float = 60.0) -> None:
        """Poll `/readyz` until 200; fail early if the process died."""
        deadline = time.monotonic() + within_seconds
        url = f"{self.config.url(process)}/readyz"
        while time.monotonic() < deadline:
            child = self.processes[process]
            if child.poll() is not None:
                raise RuntimeError(
                    f"{process} exited with {child.returncode}; see {self.log_path(process)}"
                )
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(
            f"{process} not ready after {within_seconds}s; see {self.log_path(process)}"
        )

    def start_all(self) -> None:
        self.start_broker()
        for process in (*SERVICES, "gateway"):
            self.start(process)
        for process in (*SERVICES, "gateway"):
            self.wait_ready(process)

    def kill(self, process: str) -> None:
        """SIGKILL: no cleanup, no graceful shutdown — as a crash would."""
        child = self.processes.pop(process)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()

    def stop(self, process: str) -> None:
        child = self.processes.pop(process, None)
        if child is not None:
            stop_process(child, grace_seconds=15)

    def drain(self, within_seconds: float = 15.0) -> bool:
        """Wait until no service has unpublished events or unconsumed messages."""
        deadline = time.monotonic() + within_seconds
        quiet_rounds = 0
        while time.monotonic() < deadline:
            busy = 0
            for process in SERVICES:
                if process not in self.processes:
                    continue
                try:
                    backlog = httpx.get(f"{self.config.url(process)}/drainz", timeout=2).json()
                except (httpx.HTTPError, ValueError):
                    continue
                busy += sum(backlog.values())
            quiet_rounds = quiet_rounds + 1 if busy == 0 else 0
            if quiet_rounds >= 3:
                return True
            time.sleep(0.3)
        return False

    def stop_all(self) -> None:
        """Stop taking input, let in-flight events finish, then stop services and broker."""
        self.stop("gateway")
        self.drain()
        for process in list(self.processes):
            self.stop(process)
        self.stop_broker()
