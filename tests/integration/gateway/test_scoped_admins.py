"""Nobody grants what they do not hold: site-scoped admins manage only their own sites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.settings import GatewaySettings
from tests.integration.gateway.serving import served_gateway
from tests.integration.gateway.test_gateway import PASSWORD, echo_service, login

USER_PASSWORD = "scoped-admin-pass-1"


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(database_url=database_url, demo=True, demo_password=PASSWORD)
    async with served_gateway(settings, echo_service) as (_, client):
        yield client


def account(user_id: str, roles: list[str], sites: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": user_id,
        "display_name": user_id,
        "password": USER_PASSWORD,
        "roles": roles,
    }
    if sites is not None:
        body["sites"] = sites
    return body


async def county_admin(gateway: httpx.AsyncClient) -> dict[str, str]:
    """An admin scoped to `county` (created by the global admin), logged in."""
    admin = await login(gateway, "admin")
    created = await gateway.post(
        "/api/v1/users", json=account("county-admin", ["admin"], ["county"]), headers=admin
    )
    assert created.status_code == 201, created.text
    response = await gateway.post(
        "/api/v1/auth/token", data={"username": "county-admin", "password": USER_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_scoped_admin_cannot_create_a_global_or_foreign_account(
    gateway: httpx.AsyncClient,
) -> None:
    scoped = await county_admin(gateway)
    refused = [
        account("global-admin", ["admin"], None),  # no sites = every site
        account("empty-admin", ["admin"], []),
        account("city-editor", ["editor"], ["city"]),
        account("two-sites", ["reviewer"], ["county", "city"]),
    ]
    for body in refused:
        response = await gateway.post("/api/v1/users", json=body, headers=scoped)
        assert response.status_code == 403, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["errors"][0]["field"] == "sites", problem
    users = (await gateway.get("/api/v1/users", headers=await login(gateway, "admin"))).json()
    assert {u["id"] for u in users["items"]}.isdisjoint({b["id"] for b in refused})


async def test_a_scoped_admin_creates_staff_and_admins_within_its_sites(
    gateway: httpx.AsyncClient,
) -> None:
    scoped = await county_admin(gateway)
    for body in (
        account("county-editor", ["editor"], ["county"]),
        account("county-deputy", ["admin", "reviewer"], ["county"]),
    ):
        response = await gateway.post("/api/v1/users", json=body, headers=scoped)
        assert response.status_code == 201, response.text
        assert response.json()["sites"] == ["county"]


async def test_a_scoped_admin_lists_only_accounts_of_its_sites(
    gateway: httpx.AsyncClient,
) -> None:
    scoped = await county_admin(gateway)
    admin = await login(gateway, "admin")
    await gateway.post(
        "/api/v1/users", json=account("city-editor", ["editor"], ["city"]), headers=admin
    )
    await gateway.post(
        "/api/v1/users", json=account("county-editor", ["editor"], ["county"]), headers=scoped
    )
    seen = {u["id"] for u in (await gateway.get("/api/v1/users", headers=scoped)).json()["items"]}
    assert seen == {"county-admin", "county-editor"}
    everyone = {
        u["id"] for u in (await gateway.get("/api/v1/users", headers=admin)).json()["items"]
    }
    assert {"admin", "editor", "city-editor", "county-editor"} <= everyone


async def test_a_scoped_admin_manages_only_keys_of_its_sites(gateway: httpx.AsyncClient) -> None:
    scoped = await county_admin(gateway)
    admin = await login(gateway, "admin")
    for site in (None, "city"):  # a key for every site, or for another site
        body = {"name": "系统", "scopes": ["content:read"], **({"site": site} if site else {})}
        response = await gateway.post("/api/v1/api-keys", json=body, headers=scoped)
        assert response.status_code == 403, response.text
        assert response.json()["errors"][0]["field"] == "site"
    own = await gateway.post(
        "/api/v1/api-keys",
        json={"name": "县门户", "scopes": ["content:submit", "cases:read"], "site": "county"},
        headers=scoped,
    )
    assert own.status_code == 201, own.text
    other = await gateway.post(
        "/api/v1/api-keys", json={"name": "市门户", "scopes": ["content:read"]}, headers=admin
    )
    listed = (await gateway.get("/api/v1/api-keys", headers=scoped)).json()["items"]
    assert [k["id"] for k in listed] == [own.json()["id"]]
    # another site's key is unknown to the scoped admin (404, not 403: nothing is revealed)
    foreign = await gateway.delete(f"/api/v1/api-keys/{other.json()['id']}", headers=scoped)
    unknown = await gateway.delete("/api/v1/api-keys/doesnotexist", headers=scoped)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"].replace(other.json()["id"], "X") == unknown.json()[
        "detail"
    ].replace("doesnotexist", "X")
    still = {
        k["id"]: k for k in (await gateway.get("/api/v1/api-keys", headers=admin)).json()["items"]
    }
    assert still[other.json()["id"]]["revoked_at"] is None
    revoked = await gateway.delete(f"/api/v1/api-keys/{own.json()['id']}", headers=scoped)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]


async def test_non_admins_are_refused_before_their_body_is_read(
    gateway: httpx.AsyncClient,
) -> None:
    editor = await login(gateway, "editor")
    for path in ("/api/v1/users", "/api/v1/api-keys"):
        response = await gateway.post(path, json={}, headers=editor)
        assert response.status_code == 403, (path, response.text)
        assert (await gateway.post(path, json={})).status_code == 401
    assert (await gateway.get("/api/v1/users", headers=editor)).status_code == 403
    assert (await gateway.delete("/api/v1/api-keys/x", headers=editor)).status_code == 403


async def test_cases_scopes_grant_no_content_role(gateway: httpx.AsyncClient) -> None:
    admin = await login(gateway, "admin")
    for scopes, roles in (
        (["cases:submit", "cases:read"], []),
        (["content:submit", "cases:read"], ["integrator"]),
        (["content:read"], ["reader"]),
    ):
        created = await gateway.post(
            "/api/v1/api-keys", json={"name": "k", "scopes": scopes}, headers=admin
        )
        seen = await gateway.get("/api/v1/auth/me", headers={"x-api-key": created.json()["key"]})
        assert seen.json()["roles"] == roles and seen.json()["scopes"] == scopes
