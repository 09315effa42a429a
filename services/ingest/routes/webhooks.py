"""`/api/v1/webhooks/*`: signed inbound deliveries (no actor) and their secrets (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from common.db import SessionDep
from common.responses import json_response
from services.ingest import webhooks
from services.ingest.routes.bodies import parse_submission
from services.ingest.routes.dependencies import AdminDep, DepsDep
from services.ingest.schemas import (
    SubmissionAcceptedPublic,
    WebhookSecretCreatedPublic,
    WebhookSecretListPublic,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
ALREADY_KNOWN: dict[int | str, dict[str, Any]] = {
    200: {"model": SubmissionAcceptedPublic, "description": "already in the library: its item"}
}


@router.post(
    "/{source}", status_code=202, response_model=SubmissionAcceptedPublic, responses=ALREADY_KNOWN
)
async def receive_webhook(
    source: str, request: Request, session: SessionDep, deps: DepsDep
) -> Response:
    """An integrator's signed submission; a redelivered `webhook-id` changes nothing."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    answer = await webhooks.receive(
        session, deps, source, await request.body(), headers, parse_submission
    )
    return Response(
        answer.body,
        status_code=answer.status_code,
        media_type="application/json",
        headers={"Webhook-Replayed": "true"} if answer.replayed else None,
    )


@router.post("/{source}/secrets", status_code=201, response_model=WebhookSecretCreatedPublic)
async def create_secret(
    source: str, session: SessionDep, actor: AdminDep, deps: DepsDep
) -> Response:
    """A new signing secret for a source (shown once); older ones stay active until revoked."""
    created = await webhooks.create_secret(session, deps.secrets, source, actor)
    return json_response(created, status_code=201)


@router.get("/{source}/secrets", response_model=WebhookSecretListPublic)
async def list_secrets(source: str, session: SessionDep, actor: AdminDep) -> Response:
    """The source's secrets without their values."""
    return json_response(await webhooks.list_secrets(session, source))


@router.delete("/{source}/secrets/{secret_id}", status_code=204)
async def revoke_secret(
    source: str, secret_id: str, session: SessionDep, actor: AdminDep
) -> Response:
    """Revoke a secret: deliveries signed only with it are refused from now on."""
    await webhooks.revoke_secret(session, source, secret_id, actor)
    return Response(status_code=204)
