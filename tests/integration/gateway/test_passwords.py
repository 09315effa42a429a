"""Staff passwords: argon2 for new hashes, any length the schema accepts, bcrypt rows upgraded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import bcrypt
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from common.events import utcnow
from gateway.app import create_app
from gateway.models import StaffUser
from gateway.settings import GatewaySettings

PASSWORD = "test-demo-password"
# 40 CJK characters: 120 bytes in UTF-8, inside the schema's 200 characters, beyond bcrypt's 72.
LONG_PASSWORD = "信息中央厨房先审后发互动办公室承办部门" * 2 + "A1"  # hanzi, upper, digit


@pytest.fixture
async def gateway_app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(GatewaySettings(database_url=database_url, demo=True, demo_password=PASSWORD))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        yield app


@pytest.fixture
async def client(gateway_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


async def token(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": user, "password": password})


async def stored_hash(app: FastAPI, user_id: str) -> str:
    async with app.state.db.sessions() as session:
        user = await session.get(StaffUser, user_id)
        assert user is not None
        return user.password_hash


async def test_a_long_chinese_password_is_accepted_and_logs_in(
    client: httpx.AsyncClient, gateway_app: FastAPI
) -> None:
    assert len(LONG_PASSWORD) == 40 and len(LONG_PASSWORD.encode()) == 116
    admin = (await token(client, "admin", PASSWORD)).json()["access_token"]
    body = {"id": "longpass", "display_name": "长密码", "password": LONG_PASSWORD}
    created = await client.post(
        "/api/v1/users",
        json={**body, "roles": ["editor"]},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert created.status_code == 201, created.text
    assert (await stored_hash(gateway_app, "longpass")).startswith("$argon2")

    login = await token(client, "longpass", LONG_PASSWORD)
    assert login.status_code == 200, login.text
    assert login.json()["roles"] == ["editor"]
    # Only the whole password opens it, not its first 72 bytes.
    assert (await token(client, "longpass", LONG_PASSWORD[:24])).status_code == 401


async def test_a_bcrypt_hash_still_logs_in_and_is_rehashed_to_argon2(
    client: httpx.AsyncClient, gateway_app: FastAPI
) -> None:
    legacy = bcrypt.hashpw(b"an-old-bcrypt-password", bcrypt.gensalt(rounds=4)).decode()
    async with gateway_app.state.db.sessions() as session:
        session.add(
            StaffUser(
                id="veteran",
                display_name="老用户",
                password_hash=legacy,
                roles=["editor"],
                created_at=utcnow(),
            )
        )
        await session.commit()

    assert (await token(client, "veteran", "wrong-password")).status_code == 401
    assert await stored_hash(gateway_app, "veteran") == legacy  # a failed login changes nothing
    # A long attempt against a bcrypt hash is a wrong password, not a 500.
    assert (await token(client, "veteran", LONG_PASSWORD)).status_code == 401

    assert (await token(client, "veteran", "an-old-bcrypt-password")).status_code == 200
    upgraded = await stored_hash(gateway_app, "veteran")
    assert upgraded.startswith("$argon2")
    assert (await token(client, "veteran", "an-old-bcrypt-password")).status_code == 200
    assert await stored_hash(gateway_app, "veteran") == upgraded  # argon2 is kept as it is


async def test_unknown_users_are_refused_like_wrong_passwords(client: httpx.AsyncClient) -> None:
    unknown = await token(client, "nobody-here", PASSWORD)
    wrong = await token(client, "editor", "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]
