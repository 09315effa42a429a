"""`kitchen run` as a newcomer runs it: its children die with it, and busy ports stop it early."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kitchen.stack import DEFAULT_PORTS, SCALED, port_is_free

SERVICE_OFFSETS = {name: port - DEFAULT_PORTS["gateway"] for name, port in DEFAULT_PORTS.items()}

# `kitchen run` always uses its own SQLite files: the database kind under test does not matter.
pytestmark = pytest.mark.any_database


def ephemeral_floor() -> int:
    """The lowest port the kernel hands to outgoing connections."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
        return int(ports.read().split()[0])


def free_base_port() -> int:
    """A KITCHEN_PORT whose gateway port and service ports (+101…+104) are all free, below the
    ephemeral range: a port the kernel may give an outgoing connection the moment the stack
    lets go of it would make the "ports are free again" check fail for someone else's socket."""
    ceiling = ephemeral_floor() - max(SERVICE_OFFSETS.values())
    for _ in range(100):
        base = random.randrange(10000, ceiling)
        if all(port_is_free(base + offset) for offset in SERVICE_OFFSETS.values()):
            return base
    raise AssertionError("no free block of ports")


def free_broker_port() -> int:
    for _ in range(100):
        port = random.randrange(10000, ephemeral_floor())
        if port_is_free(port):
            return port
    raise AssertionError("no free port for the broker")


def kitchen_run(
    directory: Path, base: int, broker: int, workers: int = 1
) -> tuple[subprocess.Popen[bytes], Path]:
    """`kitchen run` in `directory` (so var/ lands there), output to a file."""
    output = directory / "kitchen-run.out"
    env = {
        **os.environ,
        "KITCHEN_PORT": str(base),
        "KITCHEN_KAFKA_PORT": str(broker),
        "KITCHEN_WORKERS": str(workers),
        "COLUMNS": "200",
    }
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kitchen.cli", "run"],
            cwd=directory,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, output


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, start time) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of `root`: pid → start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
            started[int(entry.name)] = stat[2]
    found: dict[int, int] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found[pid] = started[pid]
        todo.extend(children.get(pid, []))
    return found


def alive(pid: int, started: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[2] == started and stat[0] != "Z"


@pytest.fixture
def leftovers() -> Iterator[dict[int, int]]:
    """Processes a failed test must not leave behind: SIGKILLed at teardown if still there."""
    pids: dict[int, int] = {}
    yield pids
    for pid, started in pids.items():
        if alive(pid, started):
            os.kill(pid, signal.SIGKILL)


def environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().partition("=")[::2] for pair in pairs if pair)


def gateway_answers_without(pid: int, base: int) -> None:
    """With the process `pid` frozen (it accepts nothing), the gateway's port still answers."""
    os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(10):
            with httpx.Client() as fresh:  # a new connection each time: a new accept
                assert fresh.get(f"http://127.0.0.1:{base}/healthz", timeout=5).status_code == 200
    finally:
        os.kill(pid, signal.SIGCONT)


def test_children_die_with_a_sigkilled_supervisor(
    tmp_path: Path, leftovers: dict[int, int]
) -> None:
    """With KITCHEN_WORKERS=2 every CPU-bound server is two processes on one socket (each a
    direct child, with the death signal), and either of them answers."""
    base, broker = free_base_port(), free_broker_port()
    supervisor, output = kitchen_run(tmp_path, base, broker, workers=2)
    try:
        deadline = time.monotonic() + 90
        while "is running" not in output.read_text():
            assert supervisor.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{base}/readyz", timeout=5).status_code == 200

        children = descendants(supervisor.pid)
        leftovers.update(children)
        # broker + two platform sandboxes + four services + gateway, each a single process,
        # and a second server process of each of SCALED
        assert len(children) == 1 + len(DEFAULT_PORTS) + len(SCALED), children
        parents = {pid: stat[1] for pid in children if (stat := proc_stat(pid)) is not None}
        assert set(parents.values()) == {supervisor.pid}, parents
        gateways = {
            pid: environ(pid)["KITCHEN_PROCESS_ROLE"]
            for pid in children
            if "gateway.app:create_app" in Path(f"/proc/{pid}/cmdline").read_text()
        }
        assert sorted(gateways.values()) == ["all", "api"], gateways  # one runs the jobs
        for pid in gateways:
            gateway_answers_without(pid, base)
    finally:
        supervisor.kill()  # SIGKILL: no cleanup code runs in the supervisor
        supervisor.wait()

    deadline = time.monotonic() + 10
    while (survivors := [pid for pid, started in children.items() if alive(pid, started)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert not survivors, f"outlived the supervisor: {survivors}"
    assert port_is_free(base) and port_is_free(broker)


def test_a_busy_port_stops_kitchen_run_before_anything_starts(tmp_path: Path) -> None:
    base, broker = free_base_port(), free_broker_port()
    review = base + SERVICE_OFFSETS["review"]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", review))
        squatter.listen()
        started = time.monotonic()
        supervisor, output = kitchen_run(tmp_path, base, broker)
        try:
            supervisor.wait(30)
        finally:
            supervisor.kill()
        took = time.monotonic() - started

    text = " ".join(output.read_text().split())
    assert supervisor.returncode != 0, text
    assert f"port {review} (review) is in use" in text
    assert "is running" not in text
    assert took < 20, f"took {took:.1f}s"
    # nothing was started: no process wrote a log, the other ports stayed free
    logs = tmp_path / "var" / "logs"
    assert not (logs.exists() and any(logs.iterdir())), list(logs.iterdir())
    assert port_is_free(broker) and port_is_free(base)
