"""`/healthz`, `/readyz`, Prometheus `/metrics`, and the request-id middleware."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import MutableMapping
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text
from starlette.datastructures import Headers, MutableHeaders

from common.errors import internal_error_response
from common.logs import request_id_var
from common.responses import json_response

log = logging.getLogger(__name__)

REQUESTS = Counter("kitchen_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("kitchen_http_request_seconds", "HTTP request latency", ["method", "route"])
OUTBOX_PUBLISHED = Counter("kitchen_outbox_published_total", "Outbox rows published to Kafka")
OUTBOX_REQUEUED = Counter(
    "kitchen_outbox_requeued_total",
    "Published outbox rows sent again to a broker that never saw them",
)
EVENTS_CONSUMED = Counter("kitchen_events_consumed_total", "Events handled", ["topic"])
EVENTS_DEAD_LETTERED = Counter(
    "kitchen_events_dead_lettered_total", "Events sent to DLQ", ["topic"]
)

health_router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=4096)
def request_metrics(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter and latency histogram of one label set: `labels()` builds and looks
    up its key under a lock on every call, which a hit of a cached page felt."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


@health_router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@health_router.get("/readyz")
async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    database = getattr(request.app.state, "db", None)
    if database is not None:
        try:
            async with database.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # readiness reports, never raises
            checks["database"] = f"error: {error.__class__.__name__}"
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        checks["worker"] = "ok" if worker.ready() else "starting"
    ready = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@health_router.get("/drainz")
async def drainz(request: Request) -> Response:
    """How much this process still has to publish or consume (used to stop cleanly)."""
    worker = getattr(request.app.state, "worker", None)
    backlog = await worker.backlog() if worker is not None and worker.started else {}
    return json_response(backlog)


@health_router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestContextMiddleware:
    """Echo or assign `X-Request-ID`, bind it to logs, record metrics, and answer crashes.

    The outermost middleware (pure ASGI, so it sees every response, refusals of the body limit
    included). An exception no handler took is logged with the request id, answered here as
    problem+json 500 and counted like any other response; Starlette's own last-resort handler
    sits outside and would answer plain text, unseen by the metrics. The exception is then
    raised on; once a response has been sent, that handler only passes it to the server.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id") or secrets.token_hex(16)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if status is None:
                await internal_error_response(request_id, scope["path"])(
                    scope, receive, send_with_id
                )
            status = 500
            # Raised on, as Starlette does: the server sees a sent response and only logs it,
            # and test clients may surface the exception.
            raise
        finally:
            request_id_var.reset(token)
            if status is not None:
                route_path = getattr(scope.get("route"), "path", "unmatched")
                requests, latency = request_metrics(scope["method"], route_path, status)
                requests.inc()
                latency.observe(time.perf_counter() - started)
