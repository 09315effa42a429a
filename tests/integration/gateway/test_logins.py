"""Logins under attack: lockout per name, throttle per address, expiry and password change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from common.events import utcnow
from gateway.app import create_app
from gateway.models import AuditEntry, LoginThrottle, StaffUser
from gateway.settings import GatewaySettings

PASSWORD = "test-demo-password"
NEW_PASSWORD = "Fresh-passw0rd-2026"


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[FastAPI]:
    settings = GatewaySettings(
        database_url=database_url,
        demo=True,
        demo_password=PASSWORD,
        login_max_failures=3,
        login_address_max_failures=5,
        trusted_proxies=["127.0.0.1"],  # the test client's peer: X-Forwarded-For picks addresses
        **overrides,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        app.state.asgi = manager.app
        yield app


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app.state.asgi), base_url="http://gw"
    )


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    async with running(database_url) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


async def token(
    client: httpx.AsyncClient, user: str, password: str, address: str = "203.0.113.1"
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"username": user, "password": password},
        headers={"x-forwarded-for": address},
    )


async def audit_actions(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    async with app.state.db.sessions() as session:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars()
        return [(r.action, r.subject, orjson.loads(r.data)) for r in rows]


async def test_a_name_is_locked_after_consecutive_failures_and_the_lock_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for _ in range(3):
        wrong = await token(client, "editor", "wrong-password")
        assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong username or password"
    locked = await token(client, "editor", PASSWORD)  # even the right password, checked never
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert 14 * 60 < int(locked.headers["retry-after"]) <= 15 * 60
    assert locked.json()["code"] == "rate_limited"
    action, subject, record = (await audit_actions(app))[-1]
    assert (action, subject) == ("login.locked", "user:editor")
    assert record["failures"] == 3 and record["address"] == "203.0.113.1"
    # Another name from the same address is not affected.
    assert (await token(client, "reviewer1", PASSWORD)).status_code == 200
    # Once the lockout is over, the right password opens the account again.
    async with app.state.db.sessions() as session:
        row = await session.get(LoginThrottle, "account:editor")
        assert row is not None
        row.locked_until = utcnow() - timedelta(seconds=1)
        await session.commit()
    assert (await token(client, "editor", PASSWORD)).status_code == 200


async def test_unknown_names_are_locked_the_same_way(client: httpx.AsyncClient) -> None:
    answers = [await token(client, "nobody", "wrong-password") for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[0].json()["detail"] == "wrong username or password"


async def test_a_success_ends_the_run_of_failures(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await token(client, "office", "wrong-password")).status_code == 401
    assert (await token(client, "office", PASSWORD)).status_code == 200
    for _ in range(2):
        assert (await token(client, "office", "wrong-password")).status_code == 401
    assert (await token(client, "office", PASSWORD)).status_code == 200


async def test_one_address_cannot_spray_many_names(client: httpx.AsyncClient) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5"):
        assert (await token(client, name, "guess", address="198.51.100.7")).status_code == 401
    throttled = await token(client, "handler", PASSWORD, address="198.51.100.7")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    # A forged leftmost hop does not escape: the trusted proxy's own hop is the address.
    forged = await token(client, "handler", PASSWORD, address="10.9.9.9, 198.51.100.7")
    assert forged.status_code == 429
    assert (await token(client, "handler", PASSWORD, address="198.51.100.8")).status_code == 200


async def test_the_counts_are_shared_by_every_gateway_process(
    database_url: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    for _ in range(3):
        assert (await token(client, "reviewer2", "wrong-password")).status_code == 401
    async with running(database_url) as other, client_of(other) as other_client:
        assert (await token(other_client, "reviewer2", PASSWORD)).status_code == 429


async def test_an_expired_password_only_opens_the_password_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with app.state.db.sessions() as session:
        user = await session.get(StaffUser, "reviewer3")
        assert user is not None
        user.password_changed_at = utcnow() - timedelta(days=91)
        await session.commit()
    expired = await token(client, "reviewer3", PASSWORD)
    assert expired.status_code == 403 and expired.json()["code"] == "password_expired"
    assert "access_token" not in expired.json()

    async def change(current: str, new: str) -> httpx.Response:
        body = {"username": "reviewer3", "current_password": current, "new_password": new}
        return await client.post("/api/v1/auth/password", json=body)

    weak = await change(PASSWORD, "short")
    assert weak.status_code == 422 and "shorter than 12" in weak.json()["detail"]
    assert (await change("wrong-password", NEW_PASSWORD)).status_code == 401
    assert (await change(PASSWORD, NEW_PASSWORD)).status_code == 204
    assert (await token(client, "reviewer3", PASSWORD)).status_code == 401
    assert (await token(client, "reviewer3", NEW_PASSWORD)).status_code == 200
    assert ("user.password_changed", "user:reviewer3", {}) in await audit_actions(app)
    # None of the last five passwords may come back, the current one included.
    again = await change(NEW_PASSWORD, NEW_PASSWORD)
    assert again.status_code == 422 and "last 5" in again.json()["detail"]
    rotation = [f"Rotation-passw0rd-{n}" for n in range(5)]
    assert (await change(NEW_PASSWORD, rotation[0])).status_code == 204
    assert (await change(rotation[0], NEW_PASSWORD)).status_code == 422
    for current, new in zip(rotation, rotation[1:], strict=False):
        assert (await change(current, new)).status_code == 204
    assert (await change(rotation[-1], NEW_PASSWORD)).status_code == 204  # six passwords ago


async def test_new_accounts_through_the_api_meet_the_policy(client: httpx.AsyncClient) -> None:
    admin = (await token(client, "admin", PASSWORD)).json()["access_token"]
    body = {"id": "weakling", "display_name": "弱", "roles": ["editor"]}
    weak = await client.post(
        "/api/v1/users",
        json={**body, "password": "alllowercase"},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert weak.status_code == 422 and "at least 3 are required" in weak.json()["detail"]


async def test_new_accounts_follow_the_configured_policy(database_url: str) -> None:
    async with running(database_url, password_min_length=20) as app, client_of(app) as client:
        token = await client.post(
            "/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}
        )
        admin = {"authorization": f"Bearer {token.json()['access_token']}"}
        account = {"id": "clerk", "display_name": "文员", "roles": ["editor"]}
        short = await client.post(
            "/api/v1/users", json={**account, "password": NEW_PASSWORD}, headers=admin
        )
        assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
        long = await client.post(
            "/api/v1/users", json={**account, "password": NEW_PASSWORD + "-long!"}, headers=admin
        )
        assert long.status_code == 201, long.text
