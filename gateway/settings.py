"""Gateway settings: where the services are, token and demo configuration."""

from __future__ import annotations

from pydantic import model_validator

from common.settings import DEV_TOKEN_SECRET, ServiceSettings

DEFAULT_DEMO_PASSWORD = "kitchen-demo"


class GatewaySettings(ServiceSettings):
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
