"""Ingest settings."""

from __future__ import annotations

from common.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    distribute_url: str = "http://127.0.0.1:8103"
    site_cache_seconds: float = 30.0
