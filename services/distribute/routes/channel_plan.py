"""Staff route of the new-media posting plan: per account, what will go when, and why."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.events import utcnow
from common.identity import ActorDep
from common.pagination import Page
from common.responses import json_response
from services.distribute.channels.quota import plan
from services.distribute.pagetags import iso
from services.distribute.routes.dependencies import DepsDep
from services.distribute.schemas import PlannedPostPublic

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/channels/plan", response_model=Page[PlannedPostPublic])
async def channel_plan(
    session: SessionDep, actor: ActorDep, deps: DepsDep, account_id: str | None = None
) -> Response:
    """The open posts of every account (or of `account_id`) in the order they will go, each
    with its planned time and what it waits for: an account's or app's quota window, or a
    pause the platform imposed (staff; accounts of the caller's sites)."""
    planned = await plan(session, utcnow(), deps.settings, account_id, actor.sites)
    items = [
        {
            "account_id": p.account_id,
            "delivery_id": p.delivery_id,
            "content_id": p.content_id,
            "version": p.version,
            "title": p.title,
            "state": p.state,
            "planned_at": iso(p.planned_at),
            "reason": p.reason,
        }
        for p in planned
    ]
    return json_response({"items": items, "next_cursor": None})
