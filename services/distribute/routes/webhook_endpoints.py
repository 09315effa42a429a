"""Admin routes of the webhook receivers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from common.db import SessionDep
from common.idempotency import request_hash
from common.identity import ActorDep
from common.pagination import Page
from common.responses import json_response
from services.distribute import webhook_endpoints
from services.distribute.routes.dependencies import DepsDep
from services.distribute.schemas import (
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPublic,
)

router = APIRouter(prefix="/api/v1", tags=["admin"])
REPLAYED = "Idempotent-Replayed"


@router.post("/webhook-endpoints", status_code=201, response_model=WebhookEndpointCreated)
async def create_webhook_endpoint(
    data: WebhookEndpointCreate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register a receiver (admin); only this reply (or its idempotent replay) shows the secret.

    A retry with the same `Idempotency-Key` and request replays the first reply; the same key
    with another request is a 422, a retry while the first is still running a 409."""
    actor.require_role("admin")

    async def act() -> tuple[int, Any]:
        created = await webhook_endpoints.create_endpoint(
            session, data, deps.box, deps.outbound, actor.id
        )
        return 201, created

    digest = request_hash(request.method, request.url.path, await request.body())
    stored = await deps.idempotency.respond(
        request.app.state.db, session, actor.id, idempotency_key, digest, act
    )
    body = webhook_endpoints.reveal(bytes(stored.body), deps.box)
    headers = {"Location": f"/api/v1/webhook-endpoints/{body['id']}"}
    if REPLAYED.lower() in stored.headers:
        headers[REPLAYED] = stored.headers[REPLAYED.lower()]
    return json_response(body, stored.status_code, headers)


@router.get("/webhook-endpoints", response_model=Page[WebhookEndpointPublic])
async def list_webhook_endpoints(session: SessionDep, actor: ActorDep) -> Response:
    """Registered receivers (admin)."""
    actor.require_role("admin")
    items = [
        webhook_endpoints.endpoint_out(e) for e in await webhook_endpoints.list_endpoints(session)
    ]
    return json_response({"items": items, "next_cursor": None})


@router.get("/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointPublic)
async def get_webhook_endpoint(endpoint_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One receiver (admin)."""
    actor.require_role("admin")
    endpoint = await webhook_endpoints.get_endpoint(session, endpoint_id)
    return json_response(webhook_endpoints.endpoint_out(endpoint))


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
async def delete_webhook_endpoint(
    endpoint_id: str, session: SessionDep, actor: ActorDep
) -> Response:
    """Stop sending to a receiver (admin); its delivery log is kept."""
    actor.require_role("admin")
    await webhook_endpoints.delete_endpoint(session, endpoint_id, actor.id)
    return Response(status_code=204)
