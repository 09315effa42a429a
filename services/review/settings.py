"""Review settings."""

from __future__ import annotations

from common.settings import ServiceSettings

DEFAULT_LINK_ALLOWLIST = [
    "gov.cn",
    "政府.cn",
    "news.cn",
    "xinhuanet.com",
    "people.com.cn",
    "cctv.com",
    "chinadaily.com.cn",
]


class ReviewSettings(ServiceSettings):
    # Broken-link checks: bounded in time and concurrency, results cached per URL.
    link_check_enabled: bool = True
    link_timeout_seconds: float = 3.0
    link_concurrency: int = 8
    link_cache_seconds: float = 600.0
    # The worker's job that runs queued link checks (outside any transaction): how often it
    # looks, how many per batch, and after how many errors it gives up (marked failed).
    link_job_interval_seconds: float = 2.0
    link_job_batch: int = 20
    link_job_max_attempts: int = 5
    # Links to hosts outside these domains (or their subdomains) are flagged as advertising.
    link_allowlist: list[str] = DEFAULT_LINK_ALLOWLIST
    # Deadline reminders: how often the worker looks for overdue stages.
    reminder_interval_seconds: float = 60.0
    # Idempotency-Key: how long a duplicate of a request still running waits for its answer
    # before a 409, and when a claim left by a crashed process may be taken over.
    idempotency_wait_seconds: float = 10.0
    idempotency_stale_seconds: float = 120.0
    # Seed the demo lexicons and wording lists when the lexicon table is empty.
    seed_lexicons: bool = True
    # Audit entries younger than this are never pruned by an export (DOMAIN §5: ≥ 6 months).
    audit_retention_days: int = 183
