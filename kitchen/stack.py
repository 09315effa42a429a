"""Starts the whole hub as local processes: broker, the platform sandboxes, four services, gateway.

Used by `make run` (`kitchen run`) and by the end-to-end tests, so what the tests exercise is
what a newcomer runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from kitchen.broker import (
    run_prepare,
    start_broker,
    start_child,
    stop_process,
    stop_processes,
    wait_listening,
)
from kitchen.registry import SERVICES
from kitchen.sandboxes.demo import DEMO_ACCOUNTS

DEFAULT_PORTS = {
    "gateway": 8000,
    "ingest": 8101,
    "review": 8102,
    "distribute": 8103,
    "interaction": 8104,
    "wechat-sandbox": 8201,
    "weibo-sandbox": 8202,
}
# The local stand-ins for the new-media platforms, which the hub's machines cannot reach.
SANDBOXES = {
    "wechat-sandbox": "kitchen.sandboxes.wechat:create_app",
    "weibo-sandbox": "kitchen.sandboxes.weibo:create_app",
}
# The servers that spend CPU per request: the gateway (every request), ingest (text preparation
# in the submission), distribute (the portal's reads). `KITCHEN_WORKERS` runs that many processes
# of each on one socket; the others wait on their databases and the broker, one process suffices.
SCALED = ("gateway", "ingest", "distribute")
APPS = {
    **{name: f"services.{name}.app:create_app" for name in SERVICES},
    "gateway": "gateway.app:create_app",
    **SANDBOXES,
}


def server_command(app_factory: str, port: int, fd: int | None = None) -> list[str]:
    """How `kitchen run` starts one process (`kitchen.serve`): on loopback `port`, or on the
    inherited listening socket `fd`; a single process (see `start_child`)."""
    listen = ["--port", str(port)] if fd is None else ["--fd", str(fd)]
    return [sys.executable, "-m", "kitchen.serve", app_factory, *listen]


@dataclass
class StackConfig:
    """Where everything listens and keeps its data."""

    var_dir: Path = Path("var")
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    broker_port: int = 9092
    database_urls: dict[str, str] = field(default_factory=dict)  # empty → SQLite in var_dir
    demo: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1  # server processes of each of SCALED (KITCHEN_WORKERS)

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.ports[process]}"

    def worker_names(self, process: str) -> list[str]:
        """The names of a process's server processes: itself, then `gateway.2`, `gateway.3`…
        The first has every role (its consumers and jobs); the others only serve requests."""
        count = self.workers if process in SCALED else 1
        return [process, *(f"{process}.{n}" for n in range(2, count + 1))]

    def sandbox_url(self, process: str) -> str:
        """A sandbox by host name: the outbound policy lets the services reach `localhost`
        (allow-listed by name) without opening every loopback address to webhooks."""
        return f"http://localhost:{self.ports[process]}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def database_url(self, process: str) -> str:
        default = f"sqlite+aiosqlite:///{(self.var_dir / f'{process}.db').resolve()}"
        return self.database_urls.get(process, default)

    def wanted_ports(self) -> list[tuple[int, str]]:
        """Every port the stack listens on, with who listens: services first, then the broker."""
        return [*((port, name) for name, port in self.ports.items()), (self.broker_port, "broker")]


class PortsInUse(RuntimeError):
    """Some port the stack needs is taken; nothing was started."""

    def __init__(self, busy: list[tuple[int, str]]) -> None:
        self.busy = busy
        names = ", ".join(f"{port} ({name})" for port, name in busy)
        verb = "is" if len(busy) == 1 else "are"
        super().__init__(f"port{'s' if len(busy) > 1 else ''} {names} {verb} in use")


def listening_socket(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:port that children inherit (`pass_fds`); bound with
    SO_REUSEADDR as uvicorn binds its own."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(2048)  # uvicorn's own backlog
    listener.set_inheritable(True)
    return listener


def port_is_free(port: int) -> bool:
    """Whether a server can listen on 127.0.0.1:port now.

    The probe binds with SO_REUSEADDR, as uvicorn (asyncio) and tansu do: then only a socket
    really bound to the port makes it fail — a listener there, on 127.0.0.1 or on every address —
    and not the TIME_WAIT connections a stack that just stopped leaves behind, which would
    not stop the servers either.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Stack:
    """The hub's processes; start, stop, kill and restart them one by one or all together."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.broker: subprocess.Popen[bytes] | None = None
        # the sockets SCALED processes share, open while they run: closed when they stop, so
        # a stopped service refuses connections as a single process does
        self.listeners: dict[str, socket.socket] = {}
        config.var_dir.mkdir(parents=True, exist_ok=True)
        (config.var_dir / "logs").mkdir(exist_ok=True)

    def log_path(self, process: str) -> Path:
        return self.config.var_dir / "logs" / f"{process}.log"

    def check_ports(self) -> None:
        """Raise `PortsInUse` naming each port that is taken (or wanted twice), and by whom."""
        wanted = self.config.wanted_ports()
        seen: set[int] = set()
        busy = []
        for port, name in wanted:
            if port in seen or not port_is_free(port):
                busy.append((port, name))
            seen.add(port)
        if busy:
            raise PortsInUse(busy)

    def start_broker(self, within_seconds: float = 30.0) -> None:
        """Start tansu and create the topics; fail at once, naming the log, if tansu exits."""
        log = self.log_path("broker")
        broker = self.broker = start_broker(self.config.broker_port, log)
        wait_listening(broker, self.config.broker_port, log, within_seconds)
        run_prepare(self.config.bootstrap)
        if broker.poll() is not None:
            raise RuntimeError(f"broker exited with {broker.returncode}; see {log}")

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

    def environment(self, process: str, role: str = "all") -> dict[str, str]:
        config = self.config
        env = {
            **os.environ,
            "KITCHEN_DATABASE_URL": config.database_url(process),
            "KITCHEN_KAFKA_BOOTSTRAP": config.bootstrap,
            "KITCHEN_PROCESS_ROLE": role,
            "KITCHEN_DEMO": str(config.demo).lower(),
            "KITCHEN_SEED_DEMO": str(config.demo).lower(),
            "KITCHEN_PUBLIC_BASE_URL": config.url("gateway"),
            **{f"KITCHEN_{name.upper()}_URL": config.url(name) for name in SERVICES},
            "KITCHEN_WECHAT_API_URL": config.sandbox_url("wechat-sandbox"),
            "KITCHEN_WEIBO_API_URL": config.sandbox_url("weibo-sandbox"),
            "KITCHEN_OUTBOUND_ALLOW": "localhost",
            # the WeChat sandbox pushes PUBLISHJOBFINISH to each account's callback, as the
            # platform does to the URL an account configures
            "KITCHEN_SANDBOX_WECHAT_CALLBACK_URL": (
                f"{config.url('gateway')}/api/v1/channels/wechat/{{appid}}/callback"
            ),
            **config.extra_env,
        }
        if config.demo:  # the sandboxes accept exactly these accounts
            env["KITCHEN_DEMO_CHANNEL_ACCOUNTS"] = orjson.dumps(DEMO_ACCOUNTS).decode()
        return env

    def start(self, process: str) -> None:
        """Start the process — and, for one of SCALED with `workers` > 1, its further server
        processes on the same socket, which the kernel hands connections to in turn."""
        names, port = self.config.worker_names(process), self.config.ports[process]
        if len(names) == 1:
            self._start_child(process, server_command(APPS[process], port), "all")
            return
        listener = self.listeners[process] = listening_socket(port)
        command = server_command(APPS[process], port, fd=listener.fileno())
        for name in names:
            role = "all" if name == process else "api"
            self._start_child(name, command, role, pass_fds=(listener.fileno(),))

    def _start_child(
        self, name: str, command: list[str], role: str, pass_fds: tuple[int, ...] = ()
    ) -> None:
        process = name.split(".")[0]
        with open(self.log_path(name), "ab") as log:  # the child keeps its own copy
            self.processes[name] = start_child(
                command, log, self.environment(process, role), pass_fds
            )

    def check_alive(self, process: str) -> None:
        """Raise if the process has exited, naming its log."""
        child = self.broker if process == "broker" else self.processes[process]
        if child is None or child.poll() is not None:
            code = None if child is None else child.returncode
            raise RuntimeError(f"{process} exited with {code}; see {self.log_path(process)}")

    def wait_ready(self, process: str, within_seconds: float = 60.0) -> None:
        """Poll `/readyz` until 200 from our own child; fail early if the process died.

        An answer while the child has exited came from someone else on the port (an orphan of
        an earlier run, say), so it does not count.
        """
        deadline = time.monotonic() + within_seconds
        path = "/_sandbox/state" if process in SANDBOXES else "/readyz"
        url = f"{self.config.url(process)}{path}"
        while time.monotonic() < deadline:
            self.check_alive(process)
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    self.check_alive(process)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(
            f"{process} not ready after {within_seconds}s; see {self.log_path(process)}"
        )

    def start_all(self) -> None:
        """Check every port is free, start everything, return once all of it answers.

        Raises `PortsInUse` before starting anything; RuntimeError or TimeoutError (naming the
        log) if a process exits or does not get ready — the caller stops what did start.
        """
        self.check_ports()
        self.start_broker()
        for process in (*SANDBOXES, *SERVICES, "gateway"):
            self.start(process)
        for process in (*SANDBOXES, *SERVICES, "gateway"):
            self.wait_ready(process)
        for process in ("broker", *self.processes):
            self.check_alive(process)

    def kill(self, process: str) -> None:
        """SIGKILL every server process of it: no cleanup, no graceful shutdown — as a crash
        would."""
        children = self._pop(process)
        for child in children:
            os.killpg(child.pid, signal.SIGKILL)
        for child in children:
            child.wait()

    def stop(self, process: str) -> None:
        stop_processes(self._pop(process), 15)

    def _pop(self, process: str) -> list[subprocess.Popen[bytes]]:
        """Its server processes, no longer the stack's; its shared socket closed."""
        listener = self.listeners.pop(process, None)
        if listener is not None:
            listener.close()
        names = [n for n in self.processes if n == process or n.startswith(f"{process}.")]
        return [self.processes.pop(name) for name in names]

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
        if any(process in self.processes for process in SERVICES):
            self.drain()
        stop_processes([self.processes.pop(process) for process in list(self.processes)], 15)
        self.stop_broker()
        for listener in self.listeners.values():
            listener.close()
        self.listeners.clear()
