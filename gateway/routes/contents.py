"""A library item with its history, read from the three services that each know a part."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gateway.routes.dependencies import ClientIp, DepsDep, MaybeActor
from gateway.schemas import ContentWithHistory

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/contents/{content_id}", response_model=ContentWithHistory)
async def content_with_history(
    content_id: str, actor: MaybeActor, deps: DepsDep, ip: ClientIp
) -> Response:
    """An item from the library, with its review decisions and per-target deliveries."""
    return await deps.upstreams.content_with_history(content_id, actor, ip)
