"""Per-process settings, read from `KITCHEN_*` environment variables and validated at start."""

from __future__ import annotations

import json
import re
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_INTERNAL_SECRET = "dev-internal-secret-change-me-not-for-production"
DEV_DATA_KEY = "dev-data-key-change-me-not-for-production"
DEV_TOKEN_SECRET = "dev-token-secret-change-me-not-for-production"
VAR_DIR = Path("var")
HOST_NAME = re.compile(r"^(?=.{1,253}$)[^\s/:@\[\]]+$")


class ServiceSettings(BaseSettings):
    """Settings shared by every service process; a service subclasses it for its own knobs."""

    model_config = SettingsConfigDict(env_prefix="KITCHEN_", extra="ignore")

    environment: Literal["dev", "test", "production"] = "dev"
    database_url: str = ""
    # PostgreSQL connections per process: kept open, and more opened under load. Every replica
    # has its own pool, so replicas × (pool + overflow) must stay below the server's
    # max_connections (docs/sizing.md).
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Apache Kafka supports idempotent producers; the tansu test broker does not.
    kafka_idempotence: bool = False
    kafka_fetch_max_wait_ms: int = 20
    # Prepended to every topic this process produces to or consumes from, so several hubs (or
    # tests) can share one Kafka cluster without reading each other's events.
    kafka_topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)
    # The outbox relay sends rows the moment their transaction commits, when it hears of it: in
    # its own process, or from any process on PostgreSQL (NOTIFY). It also looks this often,
    # for rows it could not hear of (written by another process on SQLite): their latency bound.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # Published events are kept this long; a broker that comes back empty gets them again.
    outbox_retention_days: float = Field(default=7.0, gt=0)
    # How often a worker asks the broker for its cluster id (a new id = a broker that starts over).
    broker_check_seconds: float = Field(default=5.0, gt=0)
    internal_secret: str = DEV_INTERNAL_SECRET
    # Services refuse the gateway's signed actor/client-address headers older than this (401),
    # allowing this much difference between the machines' clocks either way.
    internal_signature_max_age_seconds: float = Field(default=30.0, gt=0)
    internal_signature_clock_skew_seconds: float = Field(default=5.0, ge=0)
    # Proxies in front of this process whose X-Forwarded-For is believed (CIDRs or addresses,
    # comma-separated or a JSON list); see common.client_address.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Encrypts secrets at rest (common.secretbox); rotate by re-sealing with a new key.
    data_key: str = DEV_DATA_KEY
    data_key_previous: list[str] = []
    # api = HTTP only, worker = relay + consumers only, all = both in one process (local runs).
    process_role: Literal["api", "worker", "all"] = "all"
    max_body_bytes: int = 2 * 1024 * 1024
    consumer_max_attempts: int = 5
    log_level: str = "INFO"
    # FastAPI's native OpenTelemetry hooks (spans, metrics, logs through the global providers).
    # Off by default: the hub reports through `/metrics`, and while on, every request asks the
    # global providers whether one is configured (reading the environment each time).
    opentelemetry: bool = False
    # Outbound calls (crawler, link checks, webhooks: common.outbound) never reach loopback,
    # private, link-local, CGNAT, unique-local, multicast or metadata addresses, except these:
    # addresses, CIDRs or exact host names, as a JSON list or comma-separated
    # (`KITCHEN_OUTBOUND_ALLOW=127.0.0.1,10.8.0.0/16`). Empty by default, production included.
    outbound_allow: Annotated[list[str], NoDecode] = []

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ip_network(entry, strict=False)  # a ValueError names the bad entry
        return value

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _outbound_allow_entries(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, list):
            return value
        entries = [str(entry).strip() for entry in value if str(entry).strip()]
        for entry in entries:
            try:
                ip_network(entry, strict=False)
            except ValueError:
                if not HOST_NAME.match(entry):
                    raise ValueError(f"not an address, CIDR or host name: {entry!r}") from None
        return entries

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> ServiceSettings:
        if self.environment == "production" and self.internal_secret == DEV_INTERNAL_SECRET:
            raise ValueError("KITCHEN_INTERNAL_SECRET must be set in production")
        if self.environment == "production" and self.data_key == DEV_DATA_KEY:
            raise ValueError("KITCHEN_DATA_KEY must be set in production")
        return self

    def database_url_for(self, service: str) -> str:
        """The configured URL, or the embedded default `sqlite+aiosqlite:///var/<service>.db`."""
        if self.database_url:
            return self.database_url
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{VAR_DIR / f'{service}.db'}"
