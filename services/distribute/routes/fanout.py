"""`GET /api/v1/deliveries/fanout/{content_id}/{version}`: how one release spread over its
targets — counts by state, first/last delivery, skew and p50/p99 lag per outlet kind (staff,
within their sites)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from common.db import SessionDep, VersionPath
from common.identity import ActorDep
from common.responses import json_response
from services.distribute import fanout
from services.distribute.schemas import FanoutPublic

router = APIRouter(prefix="/api/v1", tags=["admin"])
PROBLEMS: dict[int | str, dict[str, str]] = {
    404: {"description": "the version was never released on the caller's sites (problem+json)"},
    422: {"description": "invalid id or version (problem+json naming the field)"},
}


@router.get(
    "/deliveries/fanout/{content_id}/{version}", response_model=FanoutPublic, responses=PROBLEMS
)
async def get_fanout(
    # the shape of the library's ids: anything else cannot exist
    content_id: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")],
    version: VersionPath,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    """The release's targets counted by state, first and last `delivered_at`, the skew (last -
    first) and p50/p99 of `delivered_at - approved_at`, for portal, webhook, WeChat and Weibo
    deliveries and over all."""
    return json_response(await fanout.fanout_report(session, content_id, version, actor.sites))
