"""The gateway's microcache: anonymous public reads answered from memory, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from prometheus_client import REGISTRY

from gateway.app import create_app
from gateway.microcache import shared_lifetime
from gateway.routes.dependencies import get_deps
from gateway.routing import is_public_read, service_for
from gateway.settings import GatewaySettings
from tests.integration.gateway.serving import answered_by, served_gateway

PASSWORD = "test-demo-password"
PUBLIC = {"cache-control": "public, max-age=30", "etag": '"v1"'}
LIST = "/api/v1/sites/province/columns/news/items"
PUBLIC_READ_LABELS = {"method": "GET", "route": "{public read}", "status": "200"}


@dataclass
class Upstream:
    """Distribute as the gateway sees it: answers with `headers`, counts what reaches it."""

    headers: dict[str, str] = field(default_factory=lambda: dict(PUBLIC))
    status: int = 200
    seen: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        body = f'{{"n":{len(self.seen)},"accept":"{request.headers.get("accept", "")}"}}'
        return httpx.Response(self.status, headers=self.headers, content=body.encode())


@dataclass
class Gateway:
    client: httpx.AsyncClient
    upstream: Upstream


async def gateway_with(database_url: str, **settings: object) -> AsyncIterator[Gateway]:
    upstream = Upstream()
    config = GatewaySettings(
        database_url=database_url,
        demo=True,
        demo_password=PASSWORD,
        **settings,  # type: ignore[arg-type]
    )
    async with served_gateway(config, answered_by(upstream)) as (_, client):
        yield Gateway(client, upstream)


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    async for made in gateway_with(database_url, microcache_seconds=0.3):
        yield made


async def test_a_public_read_is_answered_from_memory_until_it_expires(gateway: Gateway) -> None:
    first = await gateway.client.get(LIST)
    again = await gateway.client.get(LIST)
    assert len(gateway.upstream.seen) == 1
    assert again.content == first.content and again.headers["etag"] == '"v1"'
    assert again.headers["cache-control"] == "public, max-age=30" and again.headers["age"] == "0"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    await asyncio.sleep(0.35)
    assert (await gateway.client.get(LIST)).json()["n"] == 2


class SlowUpstream(Upstream):
    """Answers after a pause, so concurrent requests overlap while it is fetched."""

    async def answer(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return self(request)


@pytest.mark.parametrize("kept", [True, False])
async def test_concurrent_reads_of_one_key_wait_for_one_fetch(
    database_url: str, kept: bool
) -> None:
    """When a popular answer expires, the readers asking for it at once cost the service one
    request; an answer that may not be kept is fetched by each of them as before."""
    upstream = SlowUpstream() if kept else SlowUpstream(headers={"cache-control": "no-store"})
    config = GatewaySettings(
        database_url=database_url, demo=True, demo_password=PASSWORD, microcache_seconds=5
    )

    def services(_name: str) -> httpx.MockTransport:
        return httpx.MockTransport(upstream.answer)

    async with served_gateway(config, services) as (_, client):
        answers = await asyncio.gather(*(client.get(LIST) for _ in range(10)))
        other = await client.get(LIST, params={"cursor": "abc"})
    assert [a.status_code for a in answers] == [200] * 10 and other.status_code == 200
    if kept:
        assert len(upstream.seen) == 2  # one for the ten, one for the other key
        assert {a.json()["n"] for a in answers} == {1}
    else:
        assert len(upstream.seen) == 11
        assert {a.json()["n"] for a in answers} == set(range(1, 11))


async def test_a_kept_answer_honours_if_none_match(gateway: Gateway) -> None:
    await gateway.client.get(LIST)
    cached = await gateway.client.get(LIST, headers={"if-none-match": '"v1"'})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == '"v1"' and len(gateway.upstream.seen) == 1


async def test_each_accept_header_is_kept_apart(gateway: Gateway) -> None:
    json = await gateway.client.get(LIST, headers={"accept": "application/json"})
    other = await gateway.client.get(LIST, headers={"accept": "text/html"})
    assert json.json()["accept"] == "application/json" and other.json()["accept"] == "text/html"
    assert len(gateway.upstream.seen) == 2


async def test_callers_with_credentials_always_reach_the_service(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/api/v1/auth/token", data={"username": "editor", "password": PASSWORD}
    )
    staff = {"authorization": f"Bearer {response.json()['access_token']}"}
    await gateway.client.get(LIST, headers=staff)
    await gateway.client.get(LIST, headers=staff)
    assert len(gateway.upstream.seen) == 2
    await gateway.client.get(LIST)  # what staff read is not what the public is given
    assert len(gateway.upstream.seen) == 3


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, {"cache-control": "private, max-age=30"}),
        (200, {"cache-control": "public, no-store, max-age=30"}),
        (200, {"cache-control": "public, max-age=0"}),
        (200, {"cache-control": "max-age=30"}),
        (200, {**PUBLIC, "set-cookie": "session=1"}),
        (200, {**PUBLIC, "vary": "accept-encoding"}),
        (404, PUBLIC),
        (410, PUBLIC),
    ],
)
async def test_answers_a_shared_cache_may_not_reuse_are_not_kept(
    gateway: Gateway, status: int, headers: dict[str, str]
) -> None:
    gateway.upstream.status, gateway.upstream.headers = status, headers
    for _ in range(2):
        assert (await gateway.client.get(LIST)).status_code == status
    assert len(gateway.upstream.seen) == 2


async def test_only_gets_are_kept(gateway: Gateway) -> None:
    for _ in range(2):
        await gateway.client.post("/api/v1/contents", json={})
    assert len(gateway.upstream.seen) == 2


async def test_kept_answers_count_against_the_rate_limit(database_url: str) -> None:
    async for made in gateway_with(database_url, public_rate_per_minute=3):
        codes = [(await made.client.get(LIST)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429] and len(made.upstream.seen) == 1


async def test_zero_seconds_keeps_nothing(database_url: str) -> None:
    async for made in gateway_with(database_url, microcache_seconds=0):
        await made.client.get(LIST)
        await made.client.get(LIST)
        assert len(made.upstream.seen) == 2


def test_shared_lifetime_reads_cache_control() -> None:
    assert shared_lifetime(200, {"cache-control": "public, max-age=30, s-maxage=5"}) == 5
    assert shared_lifetime(200, {"cache-control": 'public, max-age="12"'}) == 12
    assert shared_lifetime(200, {"cache-control": "PUBLIC, MAX-AGE=7"}) == 7
    assert shared_lifetime(200, {"cache-control": "public, max-age=soon"}) == 0
    assert shared_lifetime(200, {"cache-control": "public, no-cache, max-age=9"}) == 0
    assert shared_lifetime(200, {}) == 0


async def test_public_reads_are_answered_before_routing_inside_the_request_context(
    database_url: str,
) -> None:
    """The lane forwards and answers anonymous public reads without FastAPI's routing and
    dependencies; the answer still carries the request id and the security headers. Every
    other request is routed."""
    upstream = Upstream()
    settings = GatewaySettings(database_url=database_url, demo=True)
    async with served_gateway(settings, answered_by(upstream)) as (app, client):

        def broken() -> None:
            raise RuntimeError("routed")

        app.dependency_overrides[get_deps] = broken
        counted_before = (
            REGISTRY.get_sample_value("kitchen_http_requests_total", PUBLIC_READ_LABELS) or 0
        )
        first = await client.get(LIST)  # forwarded by the lane
        hit = await client.get(LIST)  # answered by the lane
        assert first.status_code == hit.status_code == 200 and hit.content == first.content
        assert len(upstream.seen) == 1
        assert hit.headers["x-request-id"] and "content-security-policy" in hit.headers
        counted = REGISTRY.get_sample_value("kitchen_http_requests_total", PUBLIC_READ_LABELS)
        assert counted is not None and counted - counted_before == 2
        for routed in (
            client.get(LIST, headers={"authorization": "Bearer x"}),
            client.get("/api/v1/cases/C1"),
            client.get("/api/v1/contents/c1"),  # the gateway's own route (with history)
        ):
            with pytest.raises(RuntimeError, match="routed"):
                await routed


async def test_the_lane_refuses_as_problem_json(database_url: str) -> None:
    async for made in gateway_with(database_url, public_rate_per_minute=2):
        dots = await made.client.get("/api/v1/sites/%2E%2E/%2E%2E/metrics")
        assert dots.status_code == 404 and dots.json()["errors"][0]["field"] == "path"
        await made.client.get(LIST)
        limited = await made.client.get(LIST)
        assert limited.status_code == 429 and limited.headers["retry-after"]
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert len(made.upstream.seen) == 1  # the refused ones never reached it


async def test_a_service_that_does_not_answer_is_a_503(database_url: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    settings = GatewaySettings(database_url=database_url)
    async with served_gateway(settings, answered_by(down)) as (_, client):
        response = await client.get(LIST)
    assert response.status_code == 503 and response.json()["code"] == "unavailable"


def test_no_route_of_the_gateway_serves_a_public_read() -> None:
    """The lane forwards public reads unrouted, so the gateway's own routes never claim one."""
    app = create_app(GatewaySettings())
    own = [*app.openapi()["paths"], "/console/", "/healthz", "/openapi-gateway.json"]
    assert own and not [path for path in own if is_public_read(path)]
    for path in (LIST, "/api/v1/sites/province/items/c1", "/feeds/province/news.rss"):
        assert is_public_read(path) and service_for(path) == "distribute"
    assert is_public_read("/api/v1/changes") and not is_public_read("/api/v1/changes-x")


async def test_a_request_for_a_fresh_answer_reaches_the_service(gateway: Gateway) -> None:
    await gateway.client.get(LIST)
    fresh = await gateway.client.get(LIST, headers={"cache-control": "no-cache"})
    assert fresh.json()["n"] == 2 and gateway.upstream.seen[-1].headers["cache-control"]
    assert (await gateway.client.get(LIST)).json()["n"] == 2  # and is kept for the others
    await gateway.client.get(LIST, headers={"cache-control": "max-age=0"})
    assert len(gateway.upstream.seen) == 3
