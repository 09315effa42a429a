"""`/api/v1/webhooks/*`: signed inbound deliveries (no actor) and their secrets (admin)."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import SessionDep
from common.errors import NotFound, Unauthorized, Unprocessable
from common.events import utcnow
from common.identity import Actor, ActorDep
from common.responses import dumps, json_response
from common.secretbox import SecretBox
from services.ingest import audit, pipeline, webhooks
from services.ingest.api.intake import accepted, incoming_from, parse_submission
from services.ingest.models_intake import WebhookDelivery, WebhookSecret
from services.ingest.schemas import SLUG_PATTERN

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)


async def active_secrets(session: AsyncSession, source: str, box: SecretBox) -> list[str]:
    """The source's active signing secrets, opened (rows are sealed; legacy plain ones read as is).

    A row sealed with another data key is skipped, not fatal: the other secrets still verify."""
    rows = await session.execute(
        select(WebhookSecret.id, WebhookSecret.secret).where(
            WebhookSecret.source == source, WebhookSecret.active
        )
    )
    opened = []
    for secret_id, stored in rows.all():
        try:
            opened.append(box.open(stored))
        except ValueError:
            log.error(
                "webhook secret %s of %s cannot be opened with the data key", secret_id, source
            )
    return opened


@router.post("/{source}", status_code=202)
async def receive_webhook(source: str, request: Request, session: SessionDep) -> Response:
    """An integrator's signed submission; a redelivered `webhook-id` changes nothing."""
    settings = request.app.state.settings
    body = await request.body()
    try:
        webhook_id = webhooks.verify(
            await active_secrets(session, source, webhooks.secret_box(settings)),
            body,
            {k.lower(): v for k, v in request.headers.items()},
            settings.webhook_tolerance_seconds,
        )
    except webhooks.WebhookRejected as error:
        raise Unauthorized(str(error), field="webhook-signature") from error
    seen = await session.get(WebhookDelivery, (source, webhook_id))
    if seen is not None:
        return Response(
            seen.response,
            status_code=seen.status_code,
            media_type="application/json",
            headers={"Webhook-Replayed": "true"},
        )
    submission = parse_submission(body)
    await request.app.state.sites.require_targets(submission.site, submission.columns)
    actor = Actor(id=f"webhook:{source}", name=source, kind="service", roles=["integrator"])
    incoming = incoming_from(submission, actor, "webhook", body, "application/json", [], source)
    incoming.external_id = submission.external_id or webhook_id
    outcome = await pipeline.ingest(session, incoming, settings)
    status, payload = accepted(outcome)
    session.add(
        WebhookDelivery(
            source=source,
            webhook_id=webhook_id,
            status_code=status,
            response=dumps(payload),
            received_at=utcnow(),
        )
    )
    return json_response(payload, status_code=status)


def _secret_out(row: WebhookSecret) -> dict[str, object]:
    return {
        "id": row.id,
        "source": row.source,
        "active": row.active,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


@router.post("/{source}/secrets", status_code=201)
async def create_secret(
    source: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """A new signing secret for a source (shown once); older ones stay active until revoked."""
    actor.require_role("admin")
    if not re.match(SLUG_PATTERN, source):
        raise Unprocessable("source must be a slug", field="source")
    secret = webhooks.new_secret()
    row = WebhookSecret(
        id=pipeline.new_id(),
        source=source,
        secret=webhooks.secret_box(request.app.state.settings).seal(secret),
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(row)
    # the secret's id, never its value
    subject, record = f"webhook_source:{source}", {"secret_id": row.id}
    await audit.record(session, actor.id, "webhook_secret.created", subject, record)
    return json_response({**_secret_out(row), "secret": secret}, status_code=201)


@router.get("/{source}/secrets")
async def list_secrets(source: str, session: SessionDep, actor: ActorDep) -> Response:
    """The source's secrets without their values."""
    actor.require_role("admin")
    rows = await session.execute(
        select(WebhookSecret)
        .where(WebhookSecret.source == source)
        .order_by(WebhookSecret.created_at)
    )
    return json_response({"items": [_secret_out(r) for r in rows.scalars()]})


@router.delete("/{source}/secrets/{secret_id}", status_code=204)
async def revoke_secret(
    source: str, secret_id: str, session: SessionDep, actor: ActorDep
) -> Response:
    """Revoke a secret: deliveries signed only with it are refused from now on."""
    actor.require_role("admin")
    row = await session.get(WebhookSecret, secret_id)
    if row is None or row.source != source:
        raise NotFound("no such secret", field="secret_id")
    row.active, row.revoked_at = False, utcnow()
    session.add(row)
    subject, record = f"webhook_source:{source}", {"secret_id": row.id}
    await audit.record(session, actor.id, "webhook_secret.revoked", subject, record)
    return Response(status_code=204)
