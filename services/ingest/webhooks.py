"""Signed inbound webhooks per Standard Webhooks: `webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` (several, space-separated).

Verification is done here over the exact body bytes with a configurable replay window (the
`standardwebhooks` package fixes it at five minutes); the wire format is the package's, which is
what the tests sign with. Several secrets of one source may be active at once for rotation.
At rest each secret is sealed with the data key (`common.secretbox`); a plain row from before
that still verifies, and is sealed at the next start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.secretbox import SecretBox
from common.settings import ServiceSettings
from services.ingest.models_intake import WebhookSecret

SECRET_PREFIX = "whsec_"


class WebhookRejected(Exception):
    """The delivery is not authentic or not fresh; nothing may be stored."""


def secret_box(settings: ServiceSettings) -> SecretBox:
    """Secrets are stored sealed with `KITCHEN_DATA_KEY` (`fernet:…`), never in plain text."""
    return SecretBox.from_settings(settings)


async def seal_legacy_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Seal plain rows and re-seal rows of a previous data key with the current one; returns how
    many changed (the caller commits). A row no known key opens is left for `active_secrets`
    to skip and log."""
    changed = box.reseal_rows((await session.execute(select(WebhookSecret))).scalars())
    session.add_all(changed)
    return len(changed)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw + "==")


def signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> bytes:
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return hmac.new(_key(secret), signed, hashlib.sha256).digest()


def verify(
    active_secrets: list[str],
    body: bytes,
    headers: dict[str, str],
    tolerance_seconds: int,
    now: float | None = None,
) -> str:
    """The verified `webhook-id`; raises `WebhookRejected` saying why not."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    offered = headers.get("webhook-signature", "")
    if not (webhook_id and timestamp and offered):
        raise WebhookRejected("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit():
        raise WebhookRejected("webhook-timestamp is not a Unix timestamp")
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance_seconds:
        raise WebhookRejected("webhook-timestamp outside the replay window")
    candidates = []
    for part in offered.split():
        version, _, value = part.partition(",")
        if version == "v1":
            try:
                candidates.append(base64.b64decode(value))
            except ValueError:
                continue
    for secret in active_secrets:
        expected = signature(secret, webhook_id, timestamp, body)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return webhook_id
    raise WebhookRejected("no valid signature")
