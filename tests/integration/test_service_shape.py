"""Every service is built the same way: health, readiness, metrics, request ids, problem+json."""

from __future__ import annotations

import importlib
import logging

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from common.logs import JsonFormatter, event_id_var, request_id_var

SERVICES = ["ingest", "review", "distribute", "interaction"]


@pytest.mark.parametrize("service", SERVICES)
async def test_service_exposes_health_readiness_metrics(service: str, database_url: str) -> None:
    app_module = importlib.import_module(f"services.{service}.app")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_class = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k != "ServiceSettings"
    )
    app = app_module.create_app(settings_class(database_url=database_url, process_role="api"))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
            metrics = await client.get("/metrics")
            assert "kitchen_http_requests_total" in metrics.text
            echoed = await client.get("/healthz", headers={"x-request-id": "req-123"})
            assert echoed.headers["x-request-id"] == "req-123"
            missing = await client.get("/api/v1/definitely-not-here")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"


def test_json_logs_carry_request_and_event_ids() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "已入库 %s", ("c1",), None)
    request_token, event_token = request_id_var.set("req-9"), event_id_var.set("evt-7")
    try:
        line = orjson.loads(JsonFormatter("ingest").format(record))
    finally:
        request_id_var.reset(request_token)
        event_id_var.reset(event_token)
    assert line["message"] == "已入库 c1" and line["service"] == "ingest"
    assert line["request_id"] == "req-9" and line["event_id"] == "evt-7"
