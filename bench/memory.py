"""Resident memory for the benchmarks' reports: every bench prints it next to its figures."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Protocol


class Child(Protocol):
    pid: int


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the uvicorn group), from /proc."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        same_group = status.parent.name == str(pid) or fields.get("PPid", "").strip() == str(pid)
        if same_group and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0])
    return total / 1024


def processes_mb(children: dict[str, Child]) -> dict[str, float]:
    """Each named child's resident memory now (call it while they still run)."""
    return {name: rss_mb(child.pid) for name, child in children.items()}


def memory_line(memory: dict[str, float]) -> str:
    return "RSS (MB): " + ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(memory.items()))


def own_peak_line() -> str:
    """The bench process's peak resident memory (in-process benches: the service code is here)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"peak memory of this process (max RSS): {peak:.0f} MB"
