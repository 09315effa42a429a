"""The production topology of `docker-compose.yml`, started as processes on this machine.

There is no container engine on every machine that must prove the production shape, so this
reads the compose file itself — each service built from this repository, its command, its
environment with `${…}` filled in from the caller's, its `depends_on` and its health check — and
starts the same commands natively. What a container network gives is translated, and nothing else:

- each replica listens on its own loopback port instead of `0.0.0.0:8000` in its own container;
- a URL naming a compose service (`http://ingest-api:8000`) becomes the list of that service's
  replicas' URLs, comma-separated — what DNS round robin gives in compose
  (the gateway takes a list in turn: `gateway.clients.upstreams.Replicas`);
- `kafka:9092` becomes the broker the caller runs, `postgres:5432/<db>` the caller's PostgreSQL
  server and database (a prefix keeps several runs apart);
- the one-shot services (`restart: "no"`, e.g. `kafka-topics`) run to completion first.

Services from other images (Kafka, PostgreSQL, a proxy) are the caller's to provide.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kitchen.broker import start_child, stop_process

CONTAINER_PORT = 8000
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`;
# `$$` is a `$`.
VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# What a native process inherits from the machine; the rest comes from the compose file.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")


class ComposeError(ValueError):
    """The compose file cannot be read as a topology (a required variable unset, say)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Fill `${…}` as compose does; a `:?`/`?` variable that is unset (or empty) raises."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        current = env.get(name)
        missing = current is None or (current == "" and operator in (":-", ":?"))
        if operator in ("?", ":?") and missing:
            raise ComposeError(f"{name}: {argument or 'required'}")
        if operator in ("-", ":-") and missing:
            return argument
        return current or ""

    return VARIABLE.sub(value, text)


@dataclass(frozen=True)
class ComposeService:
    """One compose service built from this repository."""

    name: str
    command: list[str]
    environment: dict[str, str]
    depends_on: list[str]
    healthcheck: list[str] | None
    one_shot: bool


def read_compose(path: Path, env: Mapping[str, str]) -> dict[str, ComposeService]:
    """The services of the compose file that run this repository's image, in file order."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    services: dict[str, ComposeService] = {}
    for name, spec in document["services"].items():
        if "build" not in spec or "command" not in spec:
            continue  # another image: Kafka, PostgreSQL, a proxy — the caller provides it
        test = (spec.get("healthcheck") or {}).get("test")
        services[name] = ComposeService(
            name=name,
            command=[interpolate(str(part), env) for part in spec["command"]],
            environment={
                key: interpolate(str(raw), env)
                for key, raw in (spec.get("environment") or {}).items()
            },
            depends_on=list(spec.get("depends_on") or []),
            healthcheck=test[1:] if test and test[0] == "CMD" else None,
            one_shot=str(spec.get("restart", "")) == "no",
        )
    return services


@dataclass
class Replica:
    service: str
    index: int
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index + 1}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class NativeTopology:
    """The compose services as native processes: `up()`, then restart replicas one by one.

    `replicas` gives each long-running service's count (default 1); `bootstrap` is the broker,
    `postgres` the `host:port` of the PostgreSQL server, `database_prefix` goes before each
    database name; `overrides` replace compose settings the local machine cannot honour (each
    one named by the caller, e.g. idempotent producers the local broker lacks).
    """

    services: dict[str, ComposeService]
    bootstrap: str
    postgres: str
    var_dir: Path
    replicas: dict[str, int] = field(default_factory=dict)
    database_prefix: str = ""
    overrides: dict[str, str] = field(default_factory=dict)
    ports: Mapping[str, list[int]] = field(default_factory=dict)
    placed: dict[str, list[Replica]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        (self.var_dir / "logs").mkdir(parents=True, exist_ok=True)
        for name, service in self.services.items():
            if service.one_shot:
                continue
            ports = self.ports[name]
            count = self.replicas.get(name, 1)
            if len(ports) < count:
                raise ComposeError(f"{name}: {count} replicas need {count} ports")
            self.placed[name] = [Replica(name, i, ports[i]) for i in range(count)]

    def rewrite(self, value: str) -> str:
        """A compose value with the container network's names replaced by this machine's."""
        for name, replicas in self.placed.items():
            urls = ",".join(replica.url for replica in replicas)
            value = value.replace(f"http://{name}:{CONTAINER_PORT}", urls)
        value = re.sub(r"\bkafka:9092\b", self.bootstrap, value)
        return re.sub(r"@postgres:5432/(\w+)", rf"@{self.postgres}/{self.database_prefix}\1", value)

    def environment(self, service: str) -> dict[str, str]:
        inherited = {key: os.environ[key] for key in INHERITED if key in os.environ}
        compose = {
            key: self.rewrite(value) for key, value in self.services[service].environment.items()
        }
        return {**inherited, **compose, **self.overrides}

    def command(self, service: str, port: int | None = None) -> list[str]:
        """The compose command, run from this environment's `bin/` (where `uvicorn` and
        `kitchen` are installed), listening on loopback at `port`."""
        command = [self.rewrite(part) for part in self.services[service].command]
        local = Path(sys.executable).parent / command[0]
        if local.exists():
            command[0] = str(local)
        if port is not None:
            command = [_native_option(command, i, port) for i in range(len(command))]
        return command

    def log_path(self, replica: Replica) -> Path:
        return self.var_dir / "logs" / f"{replica.name}.log"

    def run_one_shots(self) -> None:
        for name, service in self.services.items():
            if service.one_shot:
                subprocess.run(self.command(name), env=self.environment(name), check=True)

    def start(self, replica: Replica) -> None:
        with open(self.log_path(replica), "ab") as log:
            replica.process = start_child(
                self.command(replica.service, replica.port), log, self.environment(replica.service)
            )

    def healthy(self, replica: Replica) -> bool:
        """The compose health check, run against this replica's port."""
        check = self.services[replica.service].healthcheck
        if check is None:
            return True
        command = [part.replace(f":{CONTAINER_PORT}/", f":{replica.port}/") for part in check]
        if command[0] == "python":
            command[0] = sys.executable
        return subprocess.run(command, capture_output=True, check=False, timeout=10).returncode == 0

    def wait_healthy(self, replica: Replica, within_seconds: float = 90.0) -> None:
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            if replica.process is None or replica.process.poll() is not None:
                raise RuntimeError(f"{replica.name} exited; see {self.log_path(replica)}")
            if self.healthy(replica):
                return
            time.sleep(0.3)
        raise TimeoutError(
            f"{replica.name} not healthy in {within_seconds}s; see {self.log_path(replica)}"
        )

    def start_waves(self) -> list[list[str]]:
        """Long-running services in waves, as compose starts them: each wave once everything
        its services depend on (`depends_on`) is healthy."""
        waves: list[list[str]] = []
        done: set[str] = set()
        remaining = list(self.placed)
        while remaining:
            wave = [
                name
                for name in remaining
                if all(d in done or d not in self.placed for d in self.services[name].depends_on)
            ]
            if not wave:
                raise ComposeError(f"depends_on cycle among {remaining}")
            waves.append(wave)
            done.update(wave)
            remaining = [name for name in remaining if name not in done]
        return waves

    def up(self) -> None:
        """One-shots, then wave by wave: every replica of a wave at once (replicas of one
        service take turns through their start-up), all healthy before the next wave."""
        self.run_one_shots()
        for wave in self.start_waves():
            replicas = [replica for name in wave for replica in self.placed[name]]
            for replica in replicas:
                self.start(replica)
            for replica in replicas:
                self.wait_healthy(replica)

    def stop(self, replica: Replica, hard: bool = False) -> None:
        """SIGTERM and wait (SIGKILL after the grace), or SIGKILL at once when `hard`."""
        process, replica.process = replica.process, None
        if process is None:
            return
        if hard:
            with contextlib.suppress(ProcessLookupError):  # it died by itself
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        else:
            stop_process(process, grace_seconds=20)

    def restart(self, replica: Replica, hard: bool = False) -> None:
        self.stop(replica, hard)
        self.start(replica)
        self.wait_healthy(replica)

    def all_replicas(self) -> list[Replica]:
        return [
            replica for wave in self.start_waves() for name in wave for replica in self.placed[name]
        ]

    def down(self) -> None:
        for replica in reversed(self.all_replicas()):
            self.stop(replica, hard=True)


def _native_option(command: list[str], index: int, port: int) -> str:
    """`--host 0.0.0.0` → loopback, `--port 8000` → the replica's port; the rest unchanged."""
    before = command[index - 1] if index else ""
    if before == "--host":
        return "127.0.0.1"
    if before == "--port":
        return str(port)
    return command[index]
