"""A gateway app in-process, its four services answered by test transports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway.app import create_app
from gateway.settings import GatewaySettings

Services = Callable[[str], httpx.AsyncBaseTransport]  # service name → what answers for it


@asynccontextmanager
async def served_gateway(
    settings: GatewaySettings, services: Services, peer: tuple[str, int] = ("127.0.0.1", 123)
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The started app and a client reaching it from `peer`."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        for name, replicas in app.state.upstreams.services.items():
            replicas.route_through(services(name))
        transport = httpx.ASGITransport(app=manager.app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield app, client


def answered_by(handler: Callable[[httpx.Request], httpx.Response]) -> Services:
    """Every service answered by the same handler."""
    return lambda _name: httpx.MockTransport(handler)
