"""`kitchen users create-admin` and the gateway's audit chain of accounts and keys."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from common.db import Database
from gateway.app import create_app
from gateway.audit import CHAIN
from gateway.models import AuditEntry, StaffUser
from gateway.service import password_problems
from gateway.settings import GatewaySettings
from kitchen.cli import app as cli

STRONG = "Kitchen-Admin-2026"


async def create_admin(url: str, *args: str, stdin: str) -> Result:
    """The `kitchen` CLI in a thread (it runs its own event loop)."""
    command = ["users", "create-admin", "--database-url", url, *args]
    return await asyncio.to_thread(CliRunner().invoke, cli, command, input=stdin)


async def entries(url: str) -> list[AuditEntry]:
    database = Database(url)
    try:
        async with database.sessions() as session:
            return list(
                (await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars()
            )
    finally:
        await database.dispose()


async def verified(url: str) -> dict[str, object]:
    database = Database(url)
    try:
        async with database.sessions() as session:
            return (await CHAIN.verify(session)).as_dict()
    finally:
        await database.dispose()


async def login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": user, "password": password})


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt-pw", "shorter than 12"),
        ("alllowercaseletters", "uses 1 of"),
        ("lowercase-and-symbols", "uses 2 of"),
        ("信息中央厨房先审后发互动办公室", "uses 1 of"),
        (" Padded-Passw0rd", "whitespace"),
    ],
)
def test_weak_passwords_are_named(password: str, reason: str) -> None:
    assert any(reason in problem for problem in password_problems(password))


def test_strong_passwords_pass() -> None:
    for password in (STRONG, "correct horse Battery", "密码Passw0rd很长很长", "UPPER lower 1234"):
        assert password_problems(password) == [], password


async def test_first_admin_is_created_audited_and_logs_in(database_url: str) -> None:
    created = await create_admin(
        database_url, "--username", "root", "--display-name", "平台管理员", stdin=f"{STRONG}\n" * 2
    )
    assert created.exit_code == 0, created.output
    assert "admin root created" in created.output

    [entry] = await entries(database_url)
    assert entry.action == "user.created" and entry.subject == "user:root"
    assert entry.actor.startswith("cli:")
    record = orjson.loads(entry.data)
    assert record["roles"] == ["admin"] and record["via"] == "cli"
    assert record["display_name"] == "平台管理员"
    assert STRONG not in entry.data

    app = create_app(GatewaySettings(database_url=database_url))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            token = await login(client, "root", STRONG)
            assert token.status_code == 200, token.text
            assert token.json()["roles"] == ["admin"]


async def test_weak_password_existing_name_and_bad_name_are_refused(database_url: str) -> None:
    weak = await create_admin(
        database_url, "--username", "root", "--password-stdin", stdin="weak\n"
    )
    assert weak.exit_code != 0
    assert "password too weak" in weak.output and "shorter than 12 characters" in weak.output
    assert "uses 1 of lowercase, uppercase, digits and other characters" in weak.output

    mismatch = await create_admin(database_url, "--username", "root", stdin=f"{STRONG}\nother\n")
    assert mismatch.exit_code != 0

    first = await create_admin(database_url, "--username", "root", "--password-stdin", stdin=STRONG)
    assert first.exit_code == 0, first.output
    again = await create_admin(
        database_url, "--username", "root", "--password-stdin", stdin="Another-Str0ng-one\n"
    )
    assert again.exit_code != 0 and "user root exists" in again.output

    bad_name = await create_admin(
        database_url, "--username", "Root Admin", "--password-stdin", stdin=f"{STRONG}\n"
    )
    assert bad_name.exit_code != 0 and "username" in bad_name.output

    assert [e.subject for e in await entries(database_url)] == ["user:root"]


async def test_accounts_and_keys_made_through_the_api_are_audited(database_url: str) -> None:
    assert (
        await create_admin(database_url, "--username", "root", "--password-stdin", stdin=STRONG)
    ).exit_code == 0
    app = create_app(GatewaySettings(database_url=database_url))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            token = (await login(client, "root", STRONG)).json()["access_token"]
            admin = {"authorization": f"Bearer {token}"}
            user = {"id": "editor2", "display_name": "编辑二", "password": "editor-password-1"}
            created = await client.post(
                "/api/v1/users", json={**user, "roles": ["editor"]}, headers=admin
            )
            assert created.status_code == 201, created.text
            key = await client.post(
                "/api/v1/api-keys", json={"name": "门户", "scopes": ["content:read"]}, headers=admin
            )
            assert key.status_code == 201, key.text
            key_id = key.json()["id"]
            for _ in range(2):  # revoking twice records one revocation
                revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=admin)
                assert revoked.status_code == 200
            refused = await client.post(
                "/api/v1/users", json={**user, "roles": ["editor"]}, headers=admin
            )
            assert refused.status_code == 409

    chain = await entries(database_url)
    assert [(e.actor, e.action, e.subject) for e in chain[1:]] == [
        ("root", "user.created", "user:editor2"),
        ("root", "api_key.created", f"api_key:{key_id}"),
        ("root", "api_key.revoked", f"api_key:{key_id}"),
    ]
    assert orjson.loads(chain[1].data)["via"] == "api" and "editor-password-1" not in chain[1].data
    assert key.json()["key"] not in orjson.dumps([e.data for e in chain]).decode()
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    assert (await verified(database_url))["ok"] is True

    # The gateway chain pinpoints tampering the same way the review chain does.
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            forged = orjson.dumps({"roles": ["admin"], "via": "api"}).decode()
            await session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(data=forged))
            await session.commit()
            assert await session.get(StaffUser, "editor2") is not None
    finally:
        await database.dispose()
    result = await verified(database_url)
    assert result["ok"] is False and result["first_bad_seq"] == 2


async def test_the_cli_applies_the_configured_policy(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITCHEN_PASSWORD_MIN_LENGTH", "20")
    refused = await create_admin(
        database_url, "--username", "root", "--password-stdin", stdin=STRONG
    )
    assert refused.exit_code != 0 and "shorter than 20 characters" in refused.output
    longer = f"{STRONG}-longer"
    made = await create_admin(database_url, "--username", "root", "--password-stdin", stdin=longer)
    assert made.exit_code == 0, made.output
