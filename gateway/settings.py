"""Gateway settings: where the services are, token and demo configuration."""

from __future__ import annotations

from pydantic import Field, model_validator

from common.settings import DEV_TOKEN_SECRET, ServiceSettings

DEFAULT_DEMO_PASSWORD = "kitchen-demo"


class GatewaySettings(ServiceSettings):
    # Each service's base URL, or its replicas' URLs comma-separated: requests take them in turn
    # and step past one that refuses the connection (gateway.clients.upstreams.Replicas).
    ingest_url: str = "http://127.0.0.1:8101"
    review_url: str = "http://127.0.0.1:8102"
    distribute_url: str = "http://127.0.0.1:8103"
    interaction_url: str = "http://127.0.0.1:8104"
    token_secret: str = DEV_TOKEN_SECRET
    token_ttl_seconds: int = 8 * 3600
    # Demo mode seeds the demo staff users; only for local runs.
    demo: bool = False
    demo_password: str = DEFAULT_DEMO_PASSWORD
    max_body_bytes: int = 30 * 1024 * 1024
    upstream_timeout_seconds: float = 30.0
    public_rate_per_minute: int = 600
    # Anonymous public reads are answered from memory for at most this long (and never longer
    # than the service's `max-age`); 0 turns the microcache off. `microcache_mb` bounds it.
    microcache_seconds: float = Field(default=1.0, ge=0)
    microcache_mb: int = Field(default=64, ge=1)
    # Logins (gateway.login): a login name is locked for `login_lockout_minutes` after
    # `login_max_failures` consecutive failures; an address is refused for the rest of its window
    # after `login_address_max_failures` failures within `login_address_window_minutes`.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: float = Field(default=15.0, gt=0)
    login_address_max_failures: int = Field(default=20, ge=1)
    login_address_window_minutes: float = Field(default=15.0, gt=0)
    # Password policy (gateway.service.password_problems): new passwords through the API and the
    # CLI; the demo password of demo seeding is exempt. Max age 0 = passwords never expire.
    password_min_length: int = Field(default=12, ge=1)
    password_min_classes: int = Field(default=3, ge=1, le=4)
    password_history: int = Field(default=5, ge=1)  # the current one and the 4 before it
    password_max_age_days: float = Field(default=90.0, ge=0)

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> GatewaySettings:
        if self.environment == "production":
            if self.token_secret == DEV_TOKEN_SECRET:
                raise ValueError("KITCHEN_TOKEN_SECRET must be set in production")
            if self.demo:
                raise ValueError("demo users are not allowed in production")
        return self

    def service_urls(self) -> dict[str, str]:
        return {
            "ingest": self.ingest_url,
            "review": self.review_url,
            "distribute": self.distribute_url,
            "interaction": self.interaction_url,
        }
