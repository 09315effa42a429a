"""Resident memory (and CPU time) of processes for the benchmarks' reports: every bench prints
memory next to its figures."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kitchen.stack import Stack


class Child(Protocol):
    pid: int


def status_fields(status: Path) -> dict[str, str]:
    """One /proc/<pid>/status as a dict; empty when the process is gone."""
    try:
        text = status.read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def group_pids(pid: int) -> list[int]:
    """The process and its children (a uvicorn supervisor's workers), from /proc."""
    return [
        int(status.parent.name)
        for status in Path("/proc").glob("[0-9]*/status")
        if status.parent.name == str(pid)
        or status_fields(status).get("PPid", "").strip() == str(pid)
    ]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the uvicorn group), from /proc."""
    total = 0
    for member in group_pids(pid):
        fields = status_fields(Path(f"/proc/{member}/status"))
        if "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children have used so far, from /proc."""
    total = 0
    for member in group_pids(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Each named child's CPU use from when the meter was made, as a share of one core."""

    def __init__(self, children: Mapping[str, Child]) -> None:
        self.children = dict(children)
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(child.pid) for name, child in self.children.items()}

    def cores(self) -> dict[str, float]:
        elapsed = time.monotonic() - self.started
        return {
            name: (cpu_seconds(child.pid) - self.before[name]) / elapsed
            for name, child in self.children.items()
        }


def cores_line(cores: Mapping[str, float]) -> str:
    """The busy processes (≥ 1 % of a core), busiest first."""
    busy = sorted(cores.items(), key=lambda pair: -pair[1])
    return "CPU (share of a core): " + ", ".join(
        f"{process} {core:.0%}" for process, core in busy if core >= 0.01
    )


def hub_processes(stack: Stack) -> dict[str, Child]:
    """Every process of a running stack by name, the broker's included."""
    children: dict[str, Child] = dict(stack.processes)
    if stack.broker is not None:
        children["broker"] = stack.broker
    return children


def processes_mb(children: Mapping[str, Child]) -> dict[str, float]:
    """Each named child's resident memory now (call it while they still run)."""
    return {name: rss_mb(child.pid) for name, child in children.items()}


def memory_line(memory: dict[str, float]) -> str:
    return "RSS (MB): " + ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(memory.items()))


def own_peak_line() -> str:
    """The bench process's peak resident memory (in-process benches: the service code is here)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"peak memory of this process (max RSS): {peak:.0f} MB"
