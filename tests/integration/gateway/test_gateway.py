"""The gateway: logins, API keys, identity passed to services, problem+json refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlmodel import select

from common.identity import actor_from_headers
from common.settings import DEV_INTERNAL_SECRET
from gateway.app import create_app
from gateway.models import ApiKey
from gateway.settings import GatewaySettings
from tests.integration.gateway.serving import served_gateway

PASSWORD = "test-demo-password"


def echo_service(name: str) -> httpx.MockTransport:
    """Answers with what the service would have seen: path, query, body and verified actor."""

    def handle(request: httpx.Request) -> httpx.Response:
        actor = actor_from_headers(request.headers, DEV_INTERNAL_SECRET)
        return httpx.Response(
            200,
            json={
                "service": name,
                "path": request.url.path,
                "query": request.url.query.decode(),
                "body": request.content.decode(),
                "actor": actor.model_dump() if actor else None,
                "forwarded_for": request.headers.get("x-forwarded-for"),
            },
        )

    return httpx.MockTransport(handle)


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        database_url=database_url, demo=True, demo_password=PASSWORD, public_rate_per_minute=5
    )
    async with served_gateway(settings, echo_service) as (_, client):
        yield client


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": user, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def test_login_and_identity_reach_the_service(gateway: httpx.AsyncClient) -> None:
    headers = await login(gateway, "editor")
    response = await gateway.post("/api/v1/contents?x=1", json={"title": "标题"}, headers=headers)
    seen = response.json()
    assert seen["service"] == "ingest" and seen["query"] == "x=1"
    assert orjson.loads(seen["body"]) == {"title": "标题"}
    assert seen["actor"]["id"] == "editor" and seen["actor"]["roles"] == ["editor"]
    assert response.headers["x-request-id"]


async def test_routing_table(gateway: httpx.AsyncClient) -> None:
    expected = {
        "/api/v1/sites/province/search": "ingest",
        "/api/v1/sites/province/columns": "distribute",
        "/feeds/province/news.rss": "distribute",
        "/api/v1/reviews": "review",
        "/api/v1/calendar/due-date": "interaction",
        "/open311/v2/services.json": "interaction",
    }
    staff = await login(gateway, "editor")
    for path, service in expected.items():
        assert (await gateway.get(path, headers=staff)).json()["service"] == service, path
    unknown = await gateway.get("/api/v1/nowhere")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_wrong_credentials_are_refused(gateway: httpx.AsyncClient) -> None:
    bad_login = await gateway.post(
        "/api/v1/auth/token", data={"username": "editor", "password": "wrong"}
    )
    assert bad_login.status_code == 401
    assert bad_login.headers["content-type"] == "application/problem+json"
    for header in ("Bearer not-a-token", "Basic abc", "Bearer ck_nope_nope"):
        response = await gateway.get("/api/v1/reviews", headers={"authorization": header})
        assert response.status_code == 401, header
    missing_field = await gateway.post("/api/v1/auth/token", data={"username": "editor"})
    assert missing_field.status_code == 422
    assert missing_field.json()["errors"][0]["field"] == "body.password"


async def test_api_keys_are_shown_once_scoped_and_revocable(gateway: httpx.AsyncClient) -> None:
    admin = await login(gateway, "admin")
    editor = await login(gateway, "editor")
    body = {"name": "部门业务系统", "scopes": ["content:submit"], "site": "city"}
    assert (await gateway.post("/api/v1/api-keys", json=body, headers=editor)).status_code == 403
    created = await gateway.post("/api/v1/api-keys", json=body, headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    listed = (await gateway.get("/api/v1/api-keys", headers=admin)).json()["items"]
    assert "key" not in listed[0] and key not in orjson.dumps(listed).decode()

    seen = (await gateway.post("/api/v1/contents", json={}, headers={"x-api-key": key})).json()
    assert seen["actor"]["kind"] == "api_key"
    assert seen["actor"]["roles"] == ["integrator"] and seen["actor"]["sites"] == ["city"]

    await gateway.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
    revoked = await gateway.post(
        "/api/v1/contents", json={}, headers={"authorization": f"Bearer {key}"}
    )
    assert revoked.status_code == 401

    bad_scope = await gateway.post(
        "/api/v1/api-keys", json={**body, "scopes": ["root"]}, headers=admin
    )
    assert bad_scope.status_code == 422 and bad_scope.json()["errors"][0]["field"].startswith(
        "body.scopes"
    )


async def test_open311_api_key_in_form_body(gateway: httpx.AsyncClient) -> None:
    admin = await login(gateway, "admin")
    key = (
        await gateway.post(
            "/api/v1/api-keys", json={"name": "311", "scopes": ["cases:submit"]}, headers=admin
        )
    ).json()["key"]
    seen = (
        await gateway.post(
            "/open311/v2/requests.json", data={"api_key": key, "service_code": "message"}
        )
    ).json()
    assert seen["actor"]["kind"] == "api_key" and "service_code=message" in seen["body"]


async def test_anonymous_callers_are_rate_limited(gateway: httpx.AsyncClient) -> None:
    statuses = [(await gateway.get("/api/v1/sites")).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    staff = await login(gateway, "editor")
    assert (await gateway.get("/api/v1/sites", headers=staff)).status_code == 200


async def test_forged_identity_headers_are_not_passed_on(gateway: httpx.AsyncClient) -> None:
    forged = {"x-kitchen-actor": "eyJpZCI6ImFkbWluIn0=", "x-kitchen-actor-signature": "00"}
    seen = (await gateway.get("/api/v1/sites", headers=forged)).json()
    assert seen["actor"] is None


async def test_demo_users_are_not_seeded_outside_demo(database_url: str) -> None:
    app = create_app(GatewaySettings(database_url=database_url, demo=False))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.post(
                "/api/v1/auth/token", data={"username": "admin", "password": "kitchen-demo"}
            )
            assert response.status_code == 401


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValueError, match="KITCHEN_TOKEN_SECRET"):
        GatewaySettings(environment="production", internal_secret="x" * 32, data_key="d" * 32)
    with pytest.raises(ValueError, match="KITCHEN_INTERNAL_SECRET"):
        GatewaySettings(environment="production", token_secret="y" * 32, data_key="d" * 32)
    with pytest.raises(ValueError, match="demo"):
        GatewaySettings(
            environment="production", token_secret="y" * 32, internal_secret="x" * 32, demo=True
        )


async def test_staff_console_is_served_in_chinese(gateway: httpx.AsyncClient) -> None:
    page = await gateway.get("/console/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "信息中央厨房 · 工作台" in page.text and "审核队列" in page.text
    script = await gateway.get("/console/console.js")
    assert script.status_code == 200 and "/api/v1/reviews" in script.text


async def test_openapi_merges_services_and_is_cached(database_url: str) -> None:
    calls: list[str] = []

    def service_doc(name: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            calls.append(name)
            paths = {f"/api/v1/{name}-things": {"get": {}}, "/internal": {"get": {}}}
            return httpx.Response(200, json={"paths": paths, "components": {"schemas": {}}})

        return httpx.MockTransport(handle)

    settings = GatewaySettings(database_url=database_url)
    async with served_gateway(settings, service_doc) as (_, client):
        first = (await client.get("/openapi.json")).json()["paths"]
        assert "/api/v1/auth/token" in first and "/api/v1/review-things" in first
        assert "/internal" not in first  # only the public prefixes are merged
        assert (await client.get("/openapi.json")).json()["paths"] == first
    assert len(calls) == 4  # the second request was served from the cache


async def test_any_path_or_query_is_forwarded_encoded(gateway: httpx.AsyncClient) -> None:
    """A control character, a non-ASCII byte or `#` in a path, query or header is no 5xx."""
    seen = (await gateway.get("/feeds/%0F/x.rss?q=%0F%23&r=%E9", headers={"x-n": b"\xe9"})).json()
    assert seen["path"] == "/feeds/\x0f/x.rss" and seen["query"] == "q=%0F%23&r=%E9"
    headers = await login(gateway, "editor")
    item = await gateway.get("/api/v1/contents/a%0F%3Fb%2F", headers=headers)
    assert item.status_code == 200 and item.json()["path"] == "/api/v1/contents/a\x0f?b/"


async def test_dot_segments_are_refused(gateway: httpx.AsyncClient) -> None:
    """Resolved against the service's base URL they would reach `/metrics`, which no route owns."""
    response = await gateway.get("/api/v1/contents/%2E%2E/%2e%2e/%2E%2E/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "path"


async def test_only_callers_with_credentials_use_the_database(database_url: str) -> None:
    """An anonymous portal read checks out no database connection; a key's use is recorded."""
    settings = GatewaySettings(database_url=database_url, demo=True, demo_password=PASSWORD)
    async with served_gateway(settings, echo_service) as (app, client):
        admin = await login(client, "admin")
        body = {"name": "门户前端", "scopes": ["content:submit"], "site": "city"}
        key = (await client.post("/api/v1/api-keys", json=body, headers=admin)).json()["key"]
        checkouts: list[object] = []
        pool = app.state.db.engine.sync_engine.pool
        event.listen(pool, "checkout", lambda *args: checkouts.append(args))
        read = await client.get("/api/v1/sites/province/columns/news/items")
        assert read.status_code == 200 and read.json()["actor"] is None
        assert checkouts == []
        used = await client.post("/api/v1/contents", json={}, headers={"x-api-key": key})
        assert used.json()["actor"]["kind"] == "api_key" and len(checkouts) == 1
        async with app.state.db.sessions() as session:
            stored = (await session.exec(select(ApiKey))).one()
        assert stored.last_used_at is not None
