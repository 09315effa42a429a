"""An exception no handler expects: problem+json 500 with the request id, logged and counted."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi import FastAPI

from common.logs import JsonFormatter
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings

SERVICES = ["ingest", "review", "distribute", "interaction"]


class Lines(logging.Handler):
    """Keeps the JSON log lines as they would be written (request id read at emit time)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))


@pytest.fixture
def logged() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("common.observability")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def service_app(name: str) -> FastAPI:
    app_module = importlib.import_module(f"services.{name}.app")
    settings_module = importlib.import_module(f"services.{name}.settings")
    settings_class = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k != "ServiceSettings"
    )
    return app_module.create_app(settings_class(process_role="api"))


def add_crashing_route(app: FastAPI, path: str) -> None:
    """A route that raises, placed first so no catch-all (the gateway's proxy) shadows it."""

    async def crash() -> None:
        raise RuntimeError("secret internals: connection string postgres://x")

    app.add_api_route(path, crash, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())


@pytest.mark.parametrize("name", [*SERVICES, "gateway"])
async def test_an_unhandled_error_is_a_counted_problem_500(name: str, logged: Lines) -> None:
    app = create_gateway(GatewaySettings()) if name == "gateway" else service_app(name)
    path = f"/test-crash/{name}"
    add_crashing_route(app, path)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        crashed = await client.get(path, headers={"x-request-id": f"req-crash-{name}"})
        assigned = await client.get(path)
        metrics = (await client.get("/metrics")).text

    assert crashed.status_code == 500
    assert crashed.headers["content-type"] == "application/problem+json"
    assert crashed.headers["x-request-id"] == f"req-crash-{name}"
    body = crashed.json()
    assert body["status"] == 500 and body["code"] == "internal_error"
    assert body["request_id"] == f"req-crash-{name}" and body["instance"] == path
    for leaked in ("Traceback", "RuntimeError", "secret internals", "postgres://"):
        assert leaked not in crashed.text

    generated = assigned.headers["x-request-id"]
    assert generated and assigned.json()["request_id"] == generated

    counted = f'kitchen_http_requests_total{{method="GET",route="{path}",status="500"}} 2.0'
    assert counted in metrics

    # Raised on after the answer, as Starlette does: a raising test client still sees it.
    raising = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=raising, base_url="http://svc") as client:
        with pytest.raises(RuntimeError, match="secret internals"):
            await client.get(path, headers={"x-request-id": f"req-raised-{name}"})

    errors = [line for line in logged.lines if line["level"] == "ERROR"]
    assert [line["request_id"] for line in errors] == [
        f"req-crash-{name}",
        generated,
        f"req-raised-{name}",
    ]
    assert "RuntimeError: secret internals" in str(errors[0]["exception"])


async def test_refusals_before_routing_carry_a_request_id_and_are_counted() -> None:
    app = service_app("ingest")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        too_big = await client.post(
            "/api/v1/contents",
            content=b"x" * (app.state.settings.max_body_bytes + 1),
            headers={"x-request-id": "req-too-big"},
        )
        metrics = (await client.get("/metrics")).text
    assert too_big.status_code == 413 and too_big.headers["x-request-id"] == "req-too-big"
    assert 'route="unmatched",status="413"' in metrics
