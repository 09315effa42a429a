"""Kept public answers sent before FastAPI routes the request (pure ASGI).

Matching a request against the gateway's routers and solving its dependencies costs more than
the answer itself once it is in the microcache; a hit is sent from here, inside the request
context (request id, metrics, logs) and the security headers. Anything else — a miss, a caller
with credentials or asking for a fresh answer, a caller over its rate limit — goes on to the
app, which answers as usual and stores what may be kept (`Upstreams.forward`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from common.errors import TooManyRequests
from common.responses import wants_fresh
from gateway.auth import API_KEY_HEADER, OPEN311_PREFIX
from gateway.clients.upstreams import stored_response
from gateway.microcache import (
    VARYING_REQUEST_HEADERS,
    MicroCache,
    request_target,
)
from gateway.ratelimit import WindowLimiter
from gateway.routes.dependencies import client_ip

CREDENTIAL_HEADERS = {b"authorization", API_KEY_HEADER.lower().encode()}
VARYING = {name.encode() for name in VARYING_REQUEST_HEADERS}


class MicrocacheLane:
    def __init__(self, app: ASGIApp, cache: MicroCache, limiter: WindowLimiter) -> None:
        self.app = app
        self.cache = cache
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or self.cache.seconds <= 0
            or scope["path"].startswith(OPEN311_PREFIX)  # a key may come in the query
        ):
            await self.app(scope, receive, send)
            return
        varying: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in CREDENTIAL_HEADERS or (
                name == b"cache-control" and wants_fresh(value.decode("latin-1"))
            ):
                await self.app(scope, receive, send)
                return
            if name in VARYING:
                varying[name.decode("latin-1")] = value.decode("latin-1")
        stored = self.cache.get(self.cache.key(*request_target(scope), varying))
        if stored is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            self.limiter.check(await client_ip(request))
        except TooManyRequests:
            await self.app(scope, receive, send)  # the app answers the 429 as problem+json
            return
        await stored_response(request, stored)(scope, receive, send)
