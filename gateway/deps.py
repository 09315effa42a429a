"""The gateway's long-lived collaborators, built once in `gateway.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.clients.upstreams import Upstreams
from gateway.login import LoginRules
from gateway.microcache import MicroCache
from gateway.ratelimit import WindowLimiter
from gateway.service import PasswordPolicy
from gateway.settings import GatewaySettings


@dataclass
class Deps:
    """Settings, the four services' pooled clients (closed at shutdown), the per-process limit
    of anonymous requests, the microcache of their public reads, and the login and password
    rules read from the settings."""

    settings: GatewaySettings
    upstreams: Upstreams
    limiter: WindowLimiter
    microcache: MicroCache
    login_rules: LoginRules

    @classmethod
    def of(cls, settings: GatewaySettings) -> Deps:
        return cls(
            settings=settings,
            upstreams=Upstreams(
                settings.service_urls(),
                settings.upstream_timeout_seconds,
                settings.internal_secret,
            ),
            limiter=WindowLimiter(settings.public_rate_per_minute),
            microcache=MicroCache(settings.microcache_seconds, settings.microcache_mb * 2**20),
            login_rules=LoginRules.of(settings),
        )

    @property
    def password_policy(self) -> PasswordPolicy:
        return self.login_rules.policy
