"""Behind the production edge proxy (`deploy/nginx.conf`) every citizen is known by their own
address, and nobody can choose theirs.

One hub trusts exactly the proxy (`KITCHEN_TRUSTED_PROXIES=127.0.0.1`, where nginx connects
from) and lets each address submit two public cases an hour. The citizens are clients bound to
their own loopback addresses (127.0.0.0/8 is all local on Linux), so nginx sees each one apart,
as it sees citizens on the internet:

- two citizens through the same proxy have a quota each: the first is refused after two cases,
  the second is still accepted;
- an `X-Forwarded-For` sent to the proxy changes nothing: a refused citizen cannot name a fresh
  address, and another cannot take the refused one's (and the proxy sends on only the address it
  saw: the last test, against an upstream that echoes headers);
- a client that reaches the gateway directly is not a trusted proxy: its `X-Forwarded-For` is
  not believed, its quota is its own socket address;
- interaction records exactly these addresses for its limits (`submission_attempt`).

uvicorn's own handling of `X-Forwarded-For` (it trusts 127.0.0.1 by default) is off here, as it
is in effect in docker-compose.yml, so what is proven is the hub's rule.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from common.testing import (
    database_kind_under_test,
    free_port,
    reserved_port,
    served_in_thread,
)
from tests.e2e.hub import running_hub
from tests.e2e.proxy import running_nginx

LIMIT = 2  # public submissions per address per hour
CITIZEN_A, CITIZEN_B, CITIZEN_C, DIRECT = "127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.4"
_serial = itertools.count(1)


def client(base_url: str, address: str) -> httpx.AsyncClient:
    """A client whose connections come from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30)


async def submit(http: httpx.AsyncClient, forwarded_for: str | None = None) -> httpx.Response:
    """A public case, different each time (no duplicate), from a phone of its own."""
    n = next(_serial)
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    form = await http.get("/api/v1/cases/form", headers=headers)
    assert form.status_code == 200, form.text
    body = {
        "kind": "suggestion",
        "title": f"建议增加公交线路（{n}）",
        "body": f"建议在新区增设第{n}条公交线路，方便居民出行。",
        "phone": f"139{n:08d}",
        "form_token": form.json()["form_token"],
    }
    return await http.post("/api/v1/cases", json=body, headers=headers)


def refused_for_address(response: httpx.Response) -> bool:
    if response.status_code != 429:
        return False
    return [error["field"] for error in response.json()["errors"]] == ["ip"]


async def recorded_addresses(database_url: str) -> Counter[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT ip FROM submission_attempt"))
            return Counter(row.ip for row in rows)
    finally:
        await engine.dispose()


async def test_each_citizen_behind_the_proxy_has_their_own_quota(tmp_path: Path) -> None:
    env = {
        "KITCHEN_TRUSTED_PROXIES": "127.0.0.1",
        "FORWARDED_ALLOW_IPS": "",  # uvicorn believes no X-Forwarded-For itself
        "KITCHEN_RATE_LIMIT_PER_IP": str(LIMIT),
        "KITCHEN_MIN_FORM_SECONDS": "0",
    }
    async with running_hub(tmp_path, database_kind_under_test(), env=env) as stack:
        with running_nginx(stack.config.ports["gateway"], tmp_path / "nginx") as port:
            public = f"http://127.0.0.1:{port}"
            citizens = {
                name: client(public, address)
                for name, address in (("a", CITIZEN_A), ("b", CITIZEN_B), ("c", CITIZEN_C))
            }
            direct = client(stack.config.url("gateway"), DIRECT)
            try:
                await through_the_proxy(citizens)
                await directly(direct)
                await too_large(port)
            finally:
                for http in (*citizens.values(), direct):
                    await http.aclose()
        recorded = await recorded_addresses(stack.config.database_urls["interaction"])
    assert recorded == {CITIZEN_A: LIMIT, CITIZEN_B: 1, CITIZEN_C: 1, DIRECT: LIMIT}


async def through_the_proxy(citizens: dict[str, httpx.AsyncClient]) -> None:
    a, b, c = citizens["a"], citizens["b"], citizens["c"]
    for _ in range(LIMIT):
        accepted = await submit(a)
        assert accepted.status_code == 201, accepted.text
    refused = await submit(a)
    assert refused_for_address(refused), refused.text
    assert refused.headers["server"] == "nginx"  # through the proxy, which names no version

    # another citizen behind the same proxy still has their quota
    other = await submit(b)
    assert other.status_code == 201, other.text

    # the proxy overwrites X-Forwarded-For: no fresh address for the refused citizen...
    forged = await submit(a, forwarded_for="203.0.113.7")
    assert refused_for_address(forged), forged.text
    # ...and nobody else becomes the refused citizen by naming them
    framed = await submit(c, forwarded_for=CITIZEN_A)
    assert framed.status_code == 201, framed.text


async def directly(direct: httpx.AsyncClient) -> None:
    """A client at the gateway itself, not through a trusted proxy, forging X-Forwarded-For."""
    not_a = await submit(direct, forwarded_for=CITIZEN_A)  # A is refused; this one is not A
    assert not_a.status_code == 201, not_a.text
    for n in range(LIMIT - 1):
        accepted = await submit(direct, forwarded_for=f"198.51.100.{n + 1}")
        assert accepted.status_code == 201, accepted.text
    refused = await submit(direct, forwarded_for="198.51.100.200")
    assert refused_for_address(refused), refused.text
    assert refused.headers.get("server") != "nginx"


async def too_large(port: int) -> None:
    """The proxy refuses a body over the gateway's limit (30 MiB) from its length alone, with
    the gateway's problem+json."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /api/v1/cases HTTP/1.1\r\nHost: kitchen\r\nContent-Type: application/json\r\n"
            b"Content-Length: 31457281\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        assert length, head
        body = await asyncio.wait_for(reader.readexactly(int(length[1])), 10)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"content-type: application/problem+json" in head.lower(), head
    problem: dict[str, Any] = json.loads(body)
    assert problem["code"] == "payload_too_large"


@pytest.mark.any_database
def test_the_proxy_answers_problem_json_while_the_gateway_is_down(tmp_path: Path) -> None:
    with running_nginx(free_port(), tmp_path) as port:
        response = httpx.get(f"http://127.0.0.1:{port}/api/v1/cases")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unavailable"
    assert response.headers["retry-after"] == "5"


def header_echo() -> FastAPI:
    """An upstream that answers GETs and POSTs with the headers it was sent."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(request: Request) -> list[list[str]]:
        return [[name, value] for name, value in request.headers.items()]

    return app


@pytest.mark.any_database
def test_the_proxy_tells_the_gateway_only_the_address_it_saw(tmp_path: Path) -> None:
    """The edge overwrites X-Forwarded-For: the gateway's rule (walk from the right) would be
    safe with an appended one too, but then a client-written address would still reach whoever
    reads the header less carefully."""
    with served_in_thread(header_echo(), "header-echo") as upstream:
        with running_nginx(int(upstream.rsplit(":", 1)[1]), tmp_path) as port:
            transport = httpx.HTTPTransport(local_address=CITIZEN_A)
            with httpx.Client(transport=transport) as http:
                response = http.get(
                    f"http://127.0.0.1:{port}/api/v1/cases",
                    headers={"x-forwarded-for": "203.0.113.7", "host": "www.example.gov.cn"},
                )
    sent = response.json()
    forwarded = [value for name, value in sent if name == "x-forwarded-for"]
    assert forwarded == [CITIZEN_A]
    assert ["x-forwarded-proto", "http"] in sent
    assert ["host", "www.example.gov.cn"] in sent


@pytest.mark.any_database
def test_a_rolling_restart_of_the_gateways_loses_no_request_at_the_proxy(tmp_path: Path) -> None:
    """Gateway A down while requests flow, A back, then B stopped at once: every request is
    answered by whichever gateway is up. nginx's default passive check (max_fails=1,
    fail_timeout=10s) still counted A as failed when B went, and answered 503 ("no live
    upstreams") for the rest of the 10 s."""
    # held from the start: a port only picked could be taken (by one of nginx's own outgoing
    # connections) before gateway A comes up on it
    socket_a, socket_b = reserved_port(), reserved_port()
    answers: Counter[int] = Counter()

    def requests_through(front: int, count: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{front}", timeout=10) as http:
            for n in range(count):
                method = "POST" if n % 2 else "GET"
                answers[http.request(method, f"/api/v1/contents?n={n}").status_code] += 1

    with ExitStack() as gateway_a, ExitStack() as gateway_b:
        gateway_b.enter_context(served_in_thread(header_echo(), "gateway-b", sock=socket_b))
        ports = [int(sock.getsockname()[1]) for sock in (socket_a, socket_b)]
        with running_nginx(ports, tmp_path) as front:
            requests_through(front, 6)  # A refuses: each goes on to B
            gateway_a.enter_context(served_in_thread(header_echo(), "gateway-a", sock=socket_a))
            gateway_b.close()
            requests_through(front, 20)  # B stopped: A answers, at once
    assert answers == Counter({200: 26})
