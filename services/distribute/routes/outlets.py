"""`GET /api/v1/deliveries/outlets/{content_id}`: every outlet an item went to, with the
evidence of its publication and takedown (staff, within their sites)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.responses import json_response
from services.distribute import outlets
from services.distribute.schemas import OutletsPublic

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/deliveries/outlets/{content_id}", response_model=OutletsPublic)
async def get_outlets(content_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One row per outlet (portal column and its feeds, webhook receiver, WeChat / Weibo
    account): what it holds now, the publication's and the takedown's state, time and answer.
    404 when the item was never released on one of the caller's sites."""
    return json_response(await outlets.outlets_of(session, content_id, actor.sites))
