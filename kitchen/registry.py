"""Where each service's migrations live (for the CLI; services never import each other)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("ingest", "review", "distribute", "interaction")
ALL_PROCESSES = (*SERVICES, "gateway")


def migrations_dir(service: str) -> Path:
    base = ROOT / "gateway" if service == "gateway" else ROOT / "services" / service
    return base / "migrations"
