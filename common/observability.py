"""`/healthz`, `/readyz`, Prometheus `/metrics`, and the request-id middleware."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from common.logs import request_id_var
from common.responses import json_response

REQUESTS = Counter("kitchen_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("kitchen_http_request_seconds", "HTTP request latency", ["method", "route"])
OUTBOX_PUBLISHED = Counter("kitchen_outbox_published_total", "Outbox rows published to Kafka")
EVENTS_CONSUMED = Counter("kitchen_events_consumed_total", "Events handled", ["topic"])
EVENTS_DEAD_LETTERED = Counter(
    "kitchen_events_dead_lettered_total", "Events sent to DLQ", ["topic"]
)

health_router = APIRouter(include_in_schema=False)


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


async def request_context_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Echo or assign `X-Request-ID`, bind it to logs, and record metrics."""
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        request_id_var.reset(token)
    route = request.scope.get("route")
    route_path = getattr(route, "path", "unmatched")
    REQUESTS.labels(request.method, route_path, str(response.status_code)).inc()
    LATENCY.labels(request.method, route_path).observe(time.perf_counter() - started)
    response.headers["X-Request-ID"] = request_id
    return response
