"""Staff routes: the site tree and webhook endpoints (admin), the delivery log (any staff)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from common.db import SessionDep
from common.errors import Unprocessable
from common.identity import ActorDep
from common.outbound import DestinationRefused, OutboundPolicy
from common.pagination import MAX_LIMIT
from common.responses import json_response
from common.secretbox import SecretBox
from services.distribute import deliveries, publishing, sites, webhook_endpoints
from services.distribute.schemas import (
    ColumnCreate,
    ColumnUpdate,
    SiteCreate,
    SiteUpdate,
    WebhookEndpointCreate,
)

router = APIRouter(prefix="/api/v1", tags=["admin"])
DeliveryState = Literal[
    "pending", "sending", "delivered", "failed", "cancelled", "waiting", "not_needed", "stuck"
]
# what operators look for across items: dead letters and deliveries nobody is moving
OPERATOR_STATES = ("failed", "stuck")


@router.post("/sites", status_code=201)
async def create_site(data: SiteCreate, session: SessionDep, actor: ActorDep) -> Response:
    """Create a site (admin)."""
    actor.require_role("admin")
    site = await sites.create_site(session, data, actor.id)
    return json_response(sites.site_out(site), 201, {"Location": f"/api/v1/sites/{site.slug}"})


@router.patch("/sites/{site}")
async def update_site(
    site: str, data: SiteUpdate, session: SessionDep, actor: ActorDep
) -> Response:
    """Change a site's names or codes (admin); published pages follow shortly."""
    actor.require_role("admin")
    actor.require_site(site)
    return json_response(sites.site_out(await sites.update_site(session, site, data, actor.id)))


@router.post("/sites/{site}/columns", status_code=201)
async def create_column(
    site: str, data: ColumnCreate, session: SessionDep, actor: ActorDep
) -> Response:
    """Add a column to a site (admin)."""
    actor.require_role("admin")
    actor.require_site(site)
    column = await sites.create_column(session, site, data, actor.id)
    location = f"/api/v1/sites/{site}/columns/{column.slug}"
    return json_response(sites.column_out(column), 201, {"Location": location})


@router.patch("/sites/{site}/columns/{column}")
async def update_column(
    site: str, column: str, data: ColumnUpdate, session: SessionDep, actor: ActorDep
) -> Response:
    """Rename or retype a column (admin)."""
    actor.require_role("admin")
    actor.require_site(site)
    changed = await sites.update_column(session, site, column, data, actor.id)
    return json_response(sites.column_out(changed))


@router.post("/webhook-endpoints", status_code=201)
async def create_webhook_endpoint(
    data: WebhookEndpointCreate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register a receiver (admin); only this reply (or its idempotent replay) shows the secret."""
    actor.require_role("admin")
    try:  # checked again at every send (the name may resolve elsewhere later)
        await OutboundPolicy.from_settings(request.app.state.settings).check_url(str(data.url))
    except DestinationRefused as error:
        raise Unprocessable(
            "webhooks may not be sent to loopback, private, link-local or metadata addresses",
            field="url",
        ) from error
    box = SecretBox.from_settings(request.app.state.settings)
    endpoint, secret, replayed = await webhook_endpoints.create_endpoint(
        session, data, box, actor.id, idempotency_key
    )
    body = webhook_endpoints.endpoint_out(endpoint, secret=secret)
    headers = {"Location": f"/api/v1/webhook-endpoints/{endpoint.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(body, 201, headers)


@router.get("/webhook-endpoints")
async def list_webhook_endpoints(session: SessionDep, actor: ActorDep) -> Response:
    """Registered receivers (admin)."""
    actor.require_role("admin")
    items = [
        webhook_endpoints.endpoint_out(e) for e in await webhook_endpoints.list_endpoints(session)
    ]
    return json_response({"items": items, "next_cursor": None})


@router.get("/webhook-endpoints/{endpoint_id}")
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


@router.get("/deliveries")
async def list_deliveries(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    content_id: str | None = None,
    state: DeliveryState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Deliveries, oldest first, e.g. every target of one item (staff); `state=failed` or
    `state=stuck` across items is the operators' dead-letter view (admin)."""
    if content_id is None and state in OPERATOR_STATES:
        actor.require_role("admin")
    stuck_after = request.app.state.settings.webhook_stuck_seconds
    result = await deliveries.list_deliveries(
        session, content_id, state, cursor, limit, actor.sites, stuck_after
    )
    return json_response(result)


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One delivery with its attempt log (staff)."""
    return json_response(await deliveries.get_delivery(session, delivery_id, actor.sites))


@router.post("/deliveries/{delivery_id}/replay", status_code=202)
async def replay_delivery(
    delivery_id: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Send a webhook delivery again with the same webhook-id (admin)."""
    actor.require_role("admin")
    await deliveries.get_delivery(session, delivery_id, actor.sites)  # 404 outside their sites
    delivery = await publishing.replay_delivery(session, delivery_id, actor)
    request.app.state.doorbell.ring_after_commit(session)
    return json_response(deliveries.delivery_out(delivery), 202)


@router.post("/deliveries/{delivery_id}/retry", status_code=202)
async def retry_delivery(
    delivery_id: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Retry a failed webhook delivery: a new attempt, the same webhook-id, a fresh retry budget;
    the retry is audited in the delivery's `actions` (admin)."""
    actor.require_role("admin")
    await deliveries.get_delivery(session, delivery_id, actor.sites)  # 404 outside their sites
    delivery = await publishing.retry_delivery(session, delivery_id, actor)
    request.app.state.doorbell.ring_after_commit(session)
    return json_response(deliveries.delivery_out(delivery), 202)
