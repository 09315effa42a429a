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
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound, Unauthorized, Unprocessable
from common.events import utcnow
from common.identity import Actor
from common.responses import dumps
from common.secretbox import SecretBox
from services.ingest import audit, pipeline
from services.ingest.deps import Deps
from services.ingest.intake import accepted, incoming_from
from services.ingest.models_intake import WebhookDelivery, WebhookSecret
from services.ingest.schemas import SLUG_PATTERN, ContentSubmission

SECRET_PREFIX = "whsec_"
log = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The delivery is not authentic or not fresh; nothing may be stored."""


async def seal_legacy_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Seal plain rows and re-seal rows of a previous data key with the current one; returns how
    many changed (the caller commits). A row no known key opens is left for `active_secrets`
    to skip and log."""
    changed = box.reseal_rows(await session.exec(select(WebhookSecret)))
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


async def active_secrets(session: AsyncSession, source: str, box: SecretBox) -> list[str]:
    """The source's active signing secrets, opened (rows are sealed; legacy plain ones read as is).

    A row sealed with another data key is skipped, not fatal: the other secrets still verify."""
    rows = await session.exec(
        select(WebhookSecret.id, WebhookSecret.secret).where(
            col(WebhookSecret.source) == source, col(WebhookSecret.active)
        )
    )
    opened = []
    for secret_id, stored in rows:
        try:
            opened.append(box.open(stored))
        except ValueError:
            log.error(
                "webhook secret %s of %s cannot be opened with the data key", secret_id, source
            )
    return opened


@dataclass
class Answer:
    """The answer to a delivery: the first one's again (`replayed`) for a redelivery."""

    status_code: int
    body: bytes
    replayed: bool = False


async def receive(
    session: AsyncSession,
    deps: Deps,
    source: str,
    body: bytes,
    headers: dict[str, str],
    parse: Callable[[bytes], ContentSubmission],
) -> Answer:
    """An integrator's signed submission (`headers` lower-cased): verified first (401), then a
    redelivered `webhook-id` answers as the first time and changes nothing, else `parse`d and
    put through the pipeline as the integrator `webhook:<source>`."""
    settings = deps.settings
    try:
        webhook_id = verify(
            await active_secrets(session, source, deps.secrets),
            body,
            headers,
            settings.webhook_tolerance_seconds,
        )
    except WebhookRejected as error:
        raise Unauthorized(str(error), field="webhook-signature") from error
    seen = await session.get(WebhookDelivery, (source, webhook_id))
    if seen is not None:
        return Answer(seen.status_code, seen.response, replayed=True)
    submission = parse(body)
    await deps.sites.require_targets(submission.site, submission.columns)
    actor = Actor(id=f"webhook:{source}", name=source, kind="service", roles=["integrator"])
    incoming = incoming_from(submission, actor, "webhook", body, "application/json", [], source)
    incoming.external_id = submission.external_id or webhook_id
    outcome = await pipeline.ingest(session, incoming, settings)
    status, payload = accepted(outcome)
    answer = Answer(status, dumps(payload))
    session.add(
        WebhookDelivery(
            source=source,
            webhook_id=webhook_id,
            status_code=status,
            response=answer.body,
            received_at=utcnow(),
        )
    )
    return answer


def _secret_out(row: WebhookSecret) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "active": row.active,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


async def create_secret(
    session: AsyncSession, box: SecretBox, source: str, actor: Actor
) -> dict[str, Any]:
    """A new signing secret for a source, with its value (shown once); audited by id only."""
    if not re.match(SLUG_PATTERN, source):
        raise Unprocessable("source must be a slug", field="source")
    secret = new_secret()
    row = WebhookSecret(
        id=pipeline.new_id(),
        source=source,
        secret=box.seal(secret),
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(row)
    # the secret's id, never its value
    subject, record = f"webhook_source:{source}", {"secret_id": row.id}
    await audit.record(session, actor.id, "webhook_secret.created", subject, record)
    return {**_secret_out(row), "secret": secret}


async def list_secrets(session: AsyncSession, source: str) -> dict[str, list[dict[str, Any]]]:
    """`{items: [...]}`: the source's secrets without their values, oldest first."""
    rows = await session.exec(
        select(WebhookSecret)
        .where(col(WebhookSecret.source) == source)
        .order_by(col(WebhookSecret.created_at))
    )
    return {"items": [_secret_out(r) for r in rows]}


async def revoke_secret(session: AsyncSession, source: str, secret_id: str, actor: Actor) -> None:
    """Deliveries signed only with this secret are refused from now on."""
    row = await session.get(WebhookSecret, secret_id)
    if row is None or row.source != source:
        raise NotFound("no such secret", field="secret_id")
    row.active, row.revoked_at = False, utcnow()
    session.add(row)
    subject, record = f"webhook_source:{source}", {"secret_id": row.id}
    await audit.record(session, actor.id, "webhook_secret.revoked", subject, record)
