"""Staff routes of the delivery log: reading it (any staff), sending again (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.pagination import MAX_LIMIT, Page
from common.responses import json_response
from services.distribute import deliveries, publishing
from services.distribute.routes.dependencies import DepsDep
from services.distribute.schemas import DeliveryDetailPublic, DeliveryPublic

router = APIRouter(prefix="/api/v1", tags=["admin"])
DeliveryState = Literal[
    "pending", "sending", "delivered", "failed", "cancelled", "waiting", "not_needed", "stuck"
]
# what operators look for across items: dead letters and deliveries nobody is moving
OPERATOR_STATES = ("failed", "stuck")


@router.get("/deliveries", response_model=Page[DeliveryPublic])
async def list_deliveries(
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
    content_id: str | None = None,
    state: DeliveryState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Deliveries, oldest first, e.g. every target of one item (staff); `state=failed` or
    `state=stuck` across items is the operators' dead-letter view (admin)."""
    if content_id is None and state in OPERATOR_STATES:
        actor.require_role("admin")
    stuck_after = deps.settings.webhook_stuck_seconds
    result = await deliveries.list_deliveries(
        session, content_id, state, cursor, limit, actor.sites, stuck_after
    )
    return json_response(result)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetailPublic)
async def get_delivery(delivery_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One delivery with its attempt log (staff)."""
    return json_response(await deliveries.get_delivery(session, delivery_id, actor.sites))


@router.post("/deliveries/{delivery_id}/replay", status_code=202, response_model=DeliveryPublic)
async def replay_delivery(
    delivery_id: str, session: SessionDep, actor: ActorDep, deps: DepsDep
) -> Response:
    """Send a webhook delivery again with the same webhook-id (admin)."""
    actor.require_role("admin")
    delivery = await publishing.replay_delivery(session, delivery_id, actor)
    deps.doorbell.ring_after_commit(session)
    return json_response(deliveries.delivery_out(delivery), 202)


@router.post("/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryPublic)
async def retry_delivery(
    delivery_id: str, session: SessionDep, actor: ActorDep, deps: DepsDep
) -> Response:
    """Retry a failed webhook delivery: a new attempt, the same webhook-id, a fresh retry budget;
    the retry is audited in the delivery's `actions` (admin)."""
    actor.require_role("admin")
    delivery = await publishing.retry_delivery(session, delivery_id, actor)
    deps.doorbell.ring_after_commit(session)
    return json_response(deliveries.delivery_out(delivery), 202)
