"""Calling another service that may run as several replicas (the gateway, and services that
read a neighbour's API): one connection pool per replica, taken in turn.

The pools are aiohttp's: measured proxying a 5 KB answer at 32 concurrent requests, httpx's pool
forwarded about 220 req/s against aiohttp's 1,550 on the same machine (httpx probes every pooled
connection on each request). Callers still see httpx's types — `httpx.Response`, and
`httpx.HTTPError` subclasses for failures — so in-process tests can answer through an httpx
transport (`Replicas.route_through`) with the same code above them.
"""

from __future__ import annotations

import itertools
import select
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import aiohttp
import httpx
import yarl

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
# The request never reached the replica whole (not connected, or writing it failed, so the
# replica cannot have acted on it): any method may go to the next replica.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError)
# The connection broke after the request was written: only idempotent methods retry.
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError)
# aiohttp's words for a request it could not write (`ClientRequest.write_bytes`)
UNWRITTEN = "Can not write request body"


def replica_urls(setting: str) -> list[str]:
    """A service URL setting as its replicas' base URLs: one URL, or several comma-separated."""
    urls = [part.strip() for part in setting.split(",") if part.strip()]
    if not urls:
        raise ValueError("a service URL setting lists no URL")
    return urls


class Replica(Protocol):
    async def request(
        self, method: str, url: httpx.URL, content: bytes, headers: httpx.Headers
    ) -> httpx.Response: ...

    async def aclose(self) -> None: ...


class ProbingConnector(aiohttp.TCPConnector):
    """aiohttp's pool, with one check before a pooled connection is reused: its socket must not
    be readable. An idle HTTP/1.1 connection that is readable holds the replica's close (a
    stopping uvicorn closes its idle connections) that this process's event loop has not
    handled yet; sending a POST there fails, and it may not be retried. httpx's pool makes the
    same check; without it a rolling restart answered POSTs 503.
    """

    async def _get(self, key: Any, traces: Any) -> Any:
        while (connection := await super()._get(key, traces)) is not None:
            transport = connection.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None or not select.select([sock.fileno()], [], [], 0)[0]:
                return connection
            connection.close()  # closed by the replica: try the next pooled one
        return None


class PooledReplica:
    """One replica over an aiohttp connection pool, made on first use (inside the event loop).

    Like httpx's defaults: no redirects followed, bodies passed as they came (an encoded answer
    stays encoded; `httpx.Response` decodes it), no cookies kept between callers. Failures are
    raised as the httpx errors `Replicas` sorts into not sent and broken.
    """

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout_seconds, sock_read=timeout_seconds
        )
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=ProbingConnector(limit=100, keepalive_timeout=CLIENT_KEEP_ALIVE_SECONDS),
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
        return self._session

    async def request(
        self, method: str, url: httpx.URL, content: bytes, headers: httpx.Headers
    ) -> httpx.Response:
        # `url` is a path and query, already percent-encoded (`encoded=True`: sent as it is)
        target = yarl.URL(self.base_url + url.raw_path.decode("ascii"), encoded=True)
        request = httpx.Request(method, str(target))
        try:
            async with self.session().request(
                method,
                target,
                data=content or None,
                headers=list(headers.multi_items()),
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                return httpx.Response(
                    answer.status, headers=list(answer.raw_headers), content=body, request=request
                )
        except aiohttp.ClientConnectorError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        except aiohttp.ConnectionTimeoutError as error:
            raise httpx.ConnectTimeout(str(error), request=request) from error
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as error:
            raise httpx.RemoteProtocolError(str(error), request=request) from error
        except aiohttp.ClientOSError as error:
            if str(error).startswith(UNWRITTEN):  # closed under us before the request went out
                raise httpx.WriteError(str(error), request=request) from error
            raise httpx.ReadError(str(error), request=request) from error
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out", request=request) from error
        except aiohttp.ClientError as error:
            raise httpx.RemoteProtocolError(str(error), request=request) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class TransportReplica:
    """One replica answered by an httpx transport: an in-process app or a mock, for tests."""

    def __init__(
        self, base_url: str, timeout_seconds: float, transport: httpx.AsyncBaseTransport
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout_seconds, transport=transport
        )

    async def request(
        self, method: str, url: httpx.URL, content: bytes, headers: httpx.Headers
    ) -> httpx.Response:
        return await self.client.request(method, url, content=content, headers=headers)

    async def aclose(self) -> None:
        await self.client.aclose()


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
        self.urls, self.timeout_seconds = urls, timeout_seconds
        self.clients: list[Replica] = []
        if transport is None:
            self.clients = [PooledReplica(url, timeout_seconds) for url in urls]
        else:
            self.route_through(transport)
        self.turn: Iterator[int] = itertools.count()

    def route_through(self, transport: httpx.AsyncBaseTransport) -> None:
        """Answer every replica's requests from `transport` instead of the network (tests)."""
        self.clients = [TransportReplica(url, self.timeout_seconds, transport) for url in self.urls]

    async def request(
        self, method: str, url: httpx.URL, content: bytes, headers: httpx.Headers
    ) -> httpx.Response:
        start = next(self.turn)
        last = len(self.clients) - 1
        for attempt in range(len(self.clients)):
            client = self.clients[(start + attempt) % len(self.clients)]
            try:
                return await client.request(method, url, content, headers)
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
