"""Anonymous public reads answered before FastAPI routes the request (pure ASGI).

Matching a request against the gateway's routers and solving its dependencies cost more than
forwarding it: an anonymous GET of a kept answer is sent from here, and one of a path only the
catch-all serves (`gateway.routing.is_public_read`: column lists, articles, feeds, the change
feed) is forwarded from here, inside the request context (request id, metrics, logs) and the
security headers. Anything else — a caller with credentials, another path — goes on to the
app. A caller asking for a fresh answer (`Cache-Control: no-cache`) is not answered from the
cache; its answer is kept for the next ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from common.errors import ProblemError, problem_response
from common.responses import wants_fresh
from gateway.auth import API_KEY_HEADER, OPEN311_PREFIX
from gateway.clients.upstreams import Upstreams, stored_response
from gateway.microcache import VARYING_REQUEST_HEADERS, MicroCache, request_target
from gateway.ratelimit import WindowLimiter
from gateway.routes.dependencies import client_ip
from gateway.routing import is_public_read, service_for

CREDENTIAL_HEADERS = {b"authorization", API_KEY_HEADER.lower().encode()}


@dataclass(frozen=True)
class LaneRoute:
    """What the metrics label the lane's answers by (`scope["route"].path`)."""

    path: str


PUBLIC_READ = LaneRoute("{public read}")
VARYING = {name.encode() for name in VARYING_REQUEST_HEADERS}


class MicrocacheLane:
    def __init__(
        self, app: ASGIApp, cache: MicroCache, limiter: WindowLimiter, upstreams: Upstreams
    ) -> None:
        self.app = app
        self.cache = cache
        self.limiter = limiter
        self.upstreams = upstreams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"].startswith(OPEN311_PREFIX)  # a key may come in the query
        ):
            await self.app(scope, receive, send)
            return
        varying: dict[str, str] = {}
        fresh = False
        for name, value in scope["headers"]:
            if name in CREDENTIAL_HEADERS:
                await self.app(scope, receive, send)
                return
            if name in VARYING:
                varying[name.decode("latin-1")] = value.decode("latin-1")
            elif name == b"cache-control":
                fresh = wants_fresh(value.decode("latin-1"))
        stored = None
        if not fresh and self.cache.seconds > 0:
            stored = self.cache.get(self.cache.key(*request_target(scope), varying))
        service = service_for(scope["path"]) if is_public_read(scope["path"]) else None
        if stored is None and service is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = PUBLIC_READ
        request = Request(scope, receive)
        try:
            ip = await client_ip(request)
            self.limiter.check(ip)
            if stored is not None:
                response = stored_response(request, stored)
            else:
                assert service is not None
                response = await self.upstreams.forward(request, service, None, ip, self.cache)
        except ProblemError as error:
            response = problem_response(
                error.status,
                error.code,
                error.title,
                error.detail,
                error.errors,
                scope["path"],
                error.headers,
            )
        await response(scope, receive, send)
