"""Calling another service that may run as several replicas (the gateway, and services that
read a neighbour's API): one connection pool per replica, taken in turn."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import httpx

# How long idle connections live inside the hub: a client (this module, and nginx in front of the
# gateway) drops one after CLIENT_KEEP_ALIVE_SECONDS; every server (uvicorn, as `kitchen run` and
# compose start it) keeps one SERVER_KEEP_ALIVE_SECONDS. The gap is wide on purpose: a client
# counts idleness from when its event loop read the response, which on a loaded process is
# seconds after the server wrote it; with uvicorn's default 5 s against 4 s a loaded gateway sent
# POSTs on connections the service was closing, and they came back 503 (ReadError).
CLIENT_KEEP_ALIVE_SECONDS = 4.0
SERVER_KEEP_ALIVE_SECONDS = 30
# Safe to send again to another replica after the connection broke mid-request (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
# The request never left this process: any method may go to the next replica.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The connection broke after (part of) the request was written: only idempotent methods retry.
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def replica_urls(setting: str) -> list[str]:
    """A service URL setting as its replicas' base URLs: one URL, or several comma-separated."""
    urls = [part.strip() for part in setting.split(",") if part.strip()]
    if not urls:
        raise ValueError("a service URL setting lists no URL")
    return urls


class Replicas:
    """One service's replicas, each with its own connection pool, taken in turn.

    A request goes to the next replica in rotation; if it cannot be sent there (connection
    refused: the replica is stopping or down) it goes to the next one, and so on once round. An
    idempotent request whose connection broke underway is retried the same way; any other is
    answered 503, since the replica may have acted on it. One URL behaves as before.
    """

    def __init__(
        self,
        urls: list[str],
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clients = [
            httpx.AsyncClient(
                base_url=url,
                timeout=timeout_seconds,
                # long before the replica's keep-alive ends, so it is never reused just as the
                # replica closes it (a POST would then fail)
                limits=httpx.Limits(
                    max_connections=100, keepalive_expiry=CLIENT_KEEP_ALIVE_SECONDS
                ),
                transport=transport,
            )
            for url in urls
        ]
        self.turn: Iterator[int] = itertools.count()

    async def request(
        self, method: str, url: httpx.URL, content: bytes, headers: httpx.Headers
    ) -> httpx.Response:
        start = next(self.turn)
        last = len(self.clients) - 1
        for attempt in range(len(self.clients)):
            client = self.clients[(start + attempt) % len(self.clients)]
            try:
                return await client.request(method, url, content=content, headers=headers)
            except NOT_SENT:
                if attempt == last:
                    raise
            except BROKEN:
                if attempt == last or method not in IDEMPOTENT_METHODS:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def get(self, path: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return await self.request("GET", httpx.URL(path), b"", httpx.Headers(dict(headers or {})))

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
