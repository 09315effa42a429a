"""An interaction app on a throwaway database with a clock the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from common.testing import answers_its_model, staff
from services.interaction.app import create_app
from services.interaction.clock import FixedClock, shanghai
from services.interaction.routes import routers
from services.interaction.settings import InteractionSettings

OFFICE = staff("office1", ("office",))
OFFICE2 = staff("office2", ("office",))
ADMIN = staff("admin", ("admin",))
HANDLER = staff("h-edu", ("handler",), department="edu")
CO_HANDLER = staff("h-hr", ("handler",), department="hr")
OTHER_HANDLER = staff("h-tax", ("handler",), department="tax")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(shanghai(2025, 9, 26, 10))


def settings_for(database_url: str, **overrides: Any) -> InteractionSettings:
    return InteractionSettings(**{"database_url": database_url, "process_role": "api", **overrides})


@pytest.fixture
async def app(database_url: str, clock: FixedClock) -> AsyncIterator[FastAPI]:
    app = create_app(settings_for(database_url), clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        app.state.asgi = manager.app  # carries the lifespan state into requests
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.state.asgi)
    hooks = {"response": [answers_its_model(routers)]}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://interaction", event_hooks=hooks
    ) as client:
        for code, name in (
            ("edu", "市教育局"),
            ("hr", "市人社局"),
            ("tax", "市税务局"),
            ("web", "市政府办公厅"),
        ):
            body = {"code": code, "name": name}
            assert (
                await client.put(f"/api/v1/departments/{code}", json=body, headers=ADMIN)
            ).status_code == 200
        yield client


MESSAGE = {
    "kind": "message",
    "title": "关于学校周边交通安全的建议",
    "body": "每天放学时学校门口车辆拥堵，请增设交通协管员。我的电话13812345678。",
    "name": "张三",
    "phone": "13812345678",
    "publicity": "public",
}


async def submit(client: httpx.AsyncClient, clock: FixedClock, **overrides: Any) -> dict[str, Any]:
    """Fill the form like a person: get a token, spend time on the form, submit."""
    token = (await client.get("/api/v1/cases/form")).json()["form_token"]
    clock.advance(seconds=30)
    response = await client.post(
        "/api/v1/cases", json={**MESSAGE, **overrides, "form_token": token}
    )
    assert response.status_code == 201, response.text
    return response.json()
