"""The gateway decides the client address once and vouches for it to the services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.identity import verify_internal_headers
from common.settings import DEV_INTERNAL_SECRET
from gateway.settings import GatewaySettings
from tests.integration.gateway.serving import answered_by, served_gateway


def vouching_service(request: httpx.Request) -> httpx.Response:
    vouched = verify_internal_headers(request.headers, DEV_INTERNAL_SECRET)
    return httpx.Response(200, json={"client": vouched.client_address})


async def gateway_seen_from(
    database_url: str, peer: str, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    config = GatewaySettings(database_url=database_url, **settings)  # type: ignore[arg-type]
    async with served_gateway(config, answered_by(vouching_service), (peer, 4711)) as (_, client):
        yield client


@pytest.fixture
async def direct(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in gateway_seen_from(database_url, "203.0.113.5", public_rate_per_minute=2):
        yield client


@pytest.fixture
async def proxied(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in gateway_seen_from(
        database_url, "10.0.0.2", trusted_proxies=["10.0.0.0/24"], public_rate_per_minute=2
    ):
        yield client


async def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(
    direct: httpx.AsyncClient,
) -> None:
    seen = []
    for n in range(3):
        forged = {"x-forwarded-for": f"198.51.100.{n}", "x-kitchen-client-address": "1.1.1.1"}
        seen.append(await direct.get("/api/v1/reviews", headers=forged))
    assert [r.json()["client"] for r in seen[:2]] == ["203.0.113.5", "203.0.113.5"]
    assert seen[2].status_code == 429  # one bucket: the header did not change the address


async def test_behind_trusted_proxies_the_first_untrusted_hop_from_the_right_counts(
    proxied: httpx.AsyncClient,
) -> None:
    chain = {"x-forwarded-for": "6.6.6.6, 203.0.113.5, 10.0.0.7"}
    response = await proxied.get("/api/v1/reviews", headers=chain)
    assert response.json()["client"] == "203.0.113.5"
    # Another client behind the same proxies has a bucket of its own.
    for _ in range(2):
        other = await proxied.get("/api/v1/reviews", headers={"x-forwarded-for": "203.0.113.9"})
        assert other.status_code == 200 and other.json()["client"] == "203.0.113.9"
    assert (await proxied.get("/api/v1/reviews", headers=chain)).status_code == 200
    assert (await proxied.get("/api/v1/reviews", headers=chain)).status_code == 429
