"""Every service is built the same way: health, readiness, metrics, request ids, problem+json."""

from __future__ import annotations

import gc
import importlib
import logging

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from common import service_app
from common.logs import JsonFormatter, event_id_var, request_id_var

SERVICES = ["ingest", "review", "distribute", "interaction"]


def api_app(service: str, database_url: str) -> FastAPI:
    app_module = importlib.import_module(f"services.{service}.app")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_class = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k != "ServiceSettings"
    )
    app: FastAPI = app_module.create_app(
        settings_class(database_url=database_url, process_role="api")
    )
    return app


async def test_the_first_start_up_of_a_process_freezes_what_it_made(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection must not walk what start-up made (it stalled every request in flight
    for 70-80 ms): after start-up the app is frozen, out of the oldest generation; a second app
    started in the same process is not frozen again."""
    monkeypatch.setattr(service_app, "_startup_frozen", False)
    first = api_app("distribute", database_url)
    before = gc.get_freeze_count()
    try:
        async with LifespanManager(first, startup_timeout=60, shutdown_timeout=60):
            frozen = gc.get_freeze_count()
            assert frozen > before
            assert not any(o is first for o in gc.get_objects(generation=2))
        second = api_app("distribute", database_url)
        async with LifespanManager(second, startup_timeout=60, shutdown_timeout=60):
            assert gc.get_freeze_count() <= frozen  # fewer, as frozen objects die
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("service", SERVICES)
async def test_service_exposes_health_readiness_metrics(service: str, database_url: str) -> None:
    app = api_app(service, database_url)
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
