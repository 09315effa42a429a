"""The catch-all: every other public path is forwarded to the service that owns it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from common.errors import NotFound
from gateway.routes.dependencies import ClientIp, DepsDep, MaybeActor
from gateway.routing import service_for

router = APIRouter(include_in_schema=False)
PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/{path:path}", methods=PROXIED_METHODS)
async def forward(
    path: str, request: Request, actor: MaybeActor, deps: DepsDep, ip: ClientIp
) -> Response:
    target = service_for(request.url.path)
    if target is None:
        raise NotFound(f"no such endpoint: {request.url.path}")
    if actor is None:
        deps.limiter.check(ip)  # a kept answer counts against the caller's limit too
    return await deps.upstreams.forward(request, target, actor, ip, deps.microcache)
