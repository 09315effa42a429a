"""Distribute settings (`KITCHEN_*` environment variables)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from common.settings import ServiceSettings

# Standard Webhooks' suggested schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (≈ 27 h in all).
DEFAULT_RETRY_SCHEDULE = [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]


class DistributeSettings(ServiceSettings):
    ingest_url: str = "http://127.0.0.1:8101"
    # Create the demo site tree on start when the sites table is empty (`make run` turns it on).
    seed_demo: bool = False
    # How often the upkeep job retries fetching the text of an approval that overtook
    # `content.ingested` while ingest was unreachable, and re-renders pages after site edits.
    upkeep_seconds: float = 2.0
    # How often the schedules job looks for releases whose 定时发布 moment has come: the
    # longest an item can go out after its second.
    schedule_poll_seconds: float = Field(default=0.5, gt=0)
    public_max_age: int = 30
    # Public answers are kept rendered in memory (`page_cache`); a change committed by another
    # process shows within this many seconds, memory holds at most `page_cache_mb` of them.
    page_recheck_seconds: float = Field(default=0.5, ge=0)
    page_cache_mb: int = Field(default=64, ge=1)
    feed_size: int = Field(default=20, ge=1, le=200)
    # Seconds to wait before each retry of a webhook delivery; its length is the retry budget.
    webhook_retry_schedule: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE)
    )
    webhook_timeout_seconds: float = 10.0
    # How often the webhook and channel jobs look for deliveries due without being told: retries
    # coming due, and deliveries queued by another process (this one's ring its doorbell).
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_batch_size: int = 50  # sends in flight at once, all endpoints together
    webhook_endpoint_concurrency: int = Field(default=8, ge=1)
    # A delivery claimed but not settled within this many seconds (process died mid-send) is an
    # unknown outcome and is sent again with the same `webhook-id`, the receiver's dedupe key.
    webhook_lease_seconds: float = 30.0
    # A pending delivery this many seconds past its due time (the dispatcher is not keeping up
    # or not running) is listed by `GET /api/v1/deliveries?state=stuck`, with expired leases.
    webhook_stuck_seconds: float = Field(default=300.0, gt=0)

    # The reprint clock (转载时限, clock hours): how often it runs, and the warning window —
    # `reprint_warn_hours` before the due time, or `reprint_warn_fraction` of a shorter deadline
    reprint_clock_seconds: float = Field(default=60.0, gt=0)
    reprint_warn_hours: float = Field(default=2.0, gt=0)
    reprint_warn_fraction: float = Field(default=0.25, gt=0, le=1)

    # New-media platforms (the sandboxes of `make run` and the tests, else the platforms)
    wechat_api_url: str = "https://api.weixin.qq.com"
    weibo_api_url: str = "https://api.weibo.com"
    channel_timeout_seconds: float = Field(default=10.0, gt=0)
    channel_poll_seconds: float = Field(default=0.5, gt=0)  # first retries come in 1–2 s
    # a post claimed but not settled within this many seconds (the process died mid-step) is
    # reconciled by reading the account back before anything is sent again
    channel_lease_seconds: float = Field(default=60.0, gt=0)
    # how often a WeChat publish job that is still running (`publish_status` 1) is asked again
    wechat_confirm_seconds: float = Field(default=5.0, gt=0)
    # limits enforced before the platforms enforce them (per account / per app)
    weibo_posts_per_hour: int = Field(default=30, ge=1)
    weibo_app_posts_per_day: int = Field(default=1000, ge=1)
    wechat_posts_per_minute: int = Field(default=10, ge=1)
    wechat_posts_per_day: int = Field(default=100, ge=1)
    # New-media accounts registered at start with the demo tree when none exist (JSON list of
    # registrations, the shape of `kitchen.sandboxes.demo.DEMO_ACCOUNTS`); never verified
    demo_channel_accounts: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> DistributeSettings:
        # a lease shorter than a send would let a second worker resend a live attempt
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("KITCHEN_WEBHOOK_LEASE_SECONDS must exceed the webhook timeout")
        # likewise a post's lease: a second worker would read back a step still in flight
        if self.channel_lease_seconds <= self.channel_timeout_seconds:
            raise ValueError("KITCHEN_CHANNEL_LEASE_SECONDS must exceed the channel timeout")
        return self
