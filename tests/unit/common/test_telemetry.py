"""FastAPI's OpenTelemetry hooks stay out of the request path unless a deployment asks for them
(`KITCHEN_OPENTELEMETRY`): while on, every request asks the global providers whether one is set."""

from __future__ import annotations

import httpx
import pytest
from fastapi.telemetry import _asgi  # the module whose per-request check reads the providers

from gateway.app import create_app
from gateway.settings import GatewaySettings


@pytest.mark.parametrize("enabled", [False, True])
async def test_requests_ask_the_tracing_providers_only_when_opentelemetry_is_on(
    enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = _asgi.trace.get_tracer_provider

    def counted() -> object:
        asked.append("tracer provider")
        return real()

    monkeypatch.setattr(_asgi.trace, "get_tracer_provider", counted)
    app = create_app(GatewaySettings(opentelemetry=enabled))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
    assert len(asked) == (3 if enabled else 0)
