"""Outbound webhooks per Standard Webhooks: payloads, signatures, outcome rules, retry schedule.

Pure policy; nothing here knows about the database or the network (the sender is
`services.distribute.clients.webhooks`).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from standardwebhooks import Webhook

Outcome = Literal["delivered", "retry", "failed"]
# Event types an endpoint may subscribe to.
WEBHOOK_EVENTS = ("content.published", "content.retracted")
# Statuses Standard Webhooks says to retry although they are 4xx.
RETRYABLE_4XX = frozenset({408, 429})


def new_secret() -> str:
    """A fresh `whsec_`-prefixed base64 secret (24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def valid_secret(secret: str) -> bool:
    try:
        Webhook(secret)
    except Exception:  # the library raises several types for a bad secret
        return False
    return True


def webhook_payload(event_type: str, data: dict[str, Any], at: datetime) -> bytes:
    """The body every attempt of one delivery sends, byte for byte."""
    return orjson.dumps({"type": event_type, "timestamp": at.isoformat(), "data": data})


def signed_headers(secret: str, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp`, `webhook-signature` for one attempt."""
    now = now.astimezone(UTC)
    signature = Webhook(secret).sign(message_id, now, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "central-kitchen-webhooks/1",
    }


def classify(status_code: int | None) -> Outcome:
    """2xx delivered; 4xx other than 408/429 fail at once (retrying cannot help); the rest retry.

    `None` (network error, timeout) is an unknown outcome: retried with the same `webhook-id`.
    """
    if status_code is None:
        return "retry"
    if 200 <= status_code < 300:
        return "delivered"
    if 400 <= status_code < 500 and status_code not in RETRYABLE_4XX:
        return "failed"
    return "retry"


def retry_delay(attempts_made: int, schedule: list[float]) -> float | None:
    """Seconds until the next attempt after `attempts_made` failures; None when the budget is
    spent (the first attempt is immediate, then one retry per schedule entry)."""
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    return schedule[attempts_made - 1]


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str
    duration_ms: int
    # The URL leads somewhere webhooks may not go (loopback, private, metadata …): retrying
    # cannot help, so the delivery fails at once.
    refused: bool = False

    @property
    def outcome(self) -> Outcome:
        return "failed" if self.refused else classify(self.status_code)
