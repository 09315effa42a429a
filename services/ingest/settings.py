"""Ingest settings (`KITCHEN_*`); every number the national texts leave to local rules is here."""

from __future__ import annotations

from pydantic import Field

from common.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    distribute_url: str = "http://127.0.0.1:8103"
    site_cache_seconds: float = 30.0
    # Bodies up to 8 MiB (multipart with attachments); a single attachment up to 5 MiB.
    max_body_bytes: int = 8 * 1024 * 1024
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_attachments: int = 10
    # Near duplicates: Jaccard similarity of character 3-shingles at or above this are one document.
    near_duplicate_threshold: float = 0.8
    # 主题分类 taxonomy (JSON: category → words); empty = the bundled services/ingest/taxonomy.json.
    taxonomy_path: str = ""
    # 索引号: publisher → pattern with {org}, {year}, {serial}; publisher → 组织机构代码.
    index_pattern_default: str = "{org}/{year}-{serial:05d}"
    index_patterns: dict[str, str] = {}
    org_codes: dict[str, str] = {}
    # Idempotency-Key: how long a second request with a key in progress waits for the first
    # answer before a 409, and when a claim left by a crashed process may be taken over.
    idempotency_wait_seconds: float = 10.0
    idempotency_stale_seconds: float = 120.0
    # Signed inbound webhooks: timestamps further than this from now are replays.
    webhook_tolerance_seconds: int = 300
    # Crawler politeness and limits.
    crawl_user_agent: str = "KitchenCrawler/1.0 (+https://kitchen.gov.cn/crawler)"
    crawl_timeout_seconds: float = 10.0
    crawl_max_page_bytes: int = 3 * 1024 * 1024
    crawl_max_redirects: int = 5
    crawl_poll_seconds: float = 30.0
    # A running crawl renews its heartbeat this often; one silent for longer than
    # crawl_stale_seconds (its worker died) is marked interrupted and its source queued again.
    crawl_heartbeat_seconds: float = 15.0
    crawl_stale_seconds: float = 120.0
    # How often the expiry job looks for items whose 到期下线 moment has passed.
    expiry_poll_seconds: float = Field(default=1.0, gt=0)
