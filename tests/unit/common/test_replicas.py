"""The gateway spreads requests over a service's replicas and steps past one that is down."""

from __future__ import annotations

import httpx
import pytest

from common.replicas import Replicas, TransportReplica, replica_urls

pytestmark = pytest.mark.any_database


def replicas_answering(*behaviours: str) -> tuple[Replicas, list[str]]:
    """Replicas whose transports answer `ok`, refuse the connection, or break it mid-request;
    the list records which replica saw each attempt."""
    urls = [f"http://replica{i}:8000" for i in range(len(behaviours))]
    replicas = Replicas(urls, 5.0)
    seen: list[str] = []
    for index, behaviour in enumerate(behaviours):

        def handle(
            request: httpx.Request, index: int = index, behaviour: str = behaviour
        ) -> httpx.Response:
            seen.append(f"replica{index}")
            if behaviour == "refused":
                raise httpx.ConnectError("connection refused", request=request)
            if behaviour == "broken":
                raise httpx.RemoteProtocolError("server disconnected", request=request)
            return httpx.Response(200, text=f"replica{index}")

        replicas.clients[index] = TransportReplica(urls[index], 5.0, httpx.MockTransport(handle))
    return replicas, seen


async def call(replicas: Replicas, method: str = "GET") -> str:
    response = await replicas.request(method, httpx.URL("/x"), b"", httpx.Headers())
    return response.text


async def test_requests_take_the_replicas_in_turn() -> None:
    replicas, _ = replicas_answering("ok", "ok")
    assert [await call(replicas) for _ in range(4)] == [
        "replica0",
        "replica1",
        "replica0",
        "replica1",
    ]


async def test_a_refused_connection_goes_to_the_next_replica_for_any_method() -> None:
    replicas, seen = replicas_answering("refused", "ok")
    assert await call(replicas, "POST") == "replica1"
    assert seen == ["replica0", "replica1"]


async def test_a_broken_connection_is_retried_only_when_the_method_is_idempotent() -> None:
    replicas, seen = replicas_answering("broken", "ok")
    assert await call(replicas, "GET") == "replica1"
    replicas.turn = iter(range(10))  # start at replica0 again
    with pytest.raises(httpx.RemoteProtocolError):
        await call(replicas, "POST")  # it may have been acted on: not sent twice
    assert seen == ["replica0", "replica1", "replica0"]


async def test_every_replica_down_raises_the_last_error() -> None:
    replicas, seen = replicas_answering("refused", "refused")
    with pytest.raises(httpx.ConnectError):
        await call(replicas, "POST")
    assert len(seen) == 2


def test_a_setting_lists_one_or_several_replicas() -> None:
    assert replica_urls("http://a:8000") == ["http://a:8000"]
    assert replica_urls(" http://a:1, http://b:2 ,") == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError, match="no URL"):
        replica_urls(" , ")
