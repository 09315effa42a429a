"""The four services as the gateway calls them: forwarding a request with the caller's verified
identity, the library item with its history from three services, each service's OpenAPI."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
from fastapi import Request, Response

from common.errors import NotFound, ServiceUnavailable
from common.identity import (
    ACTOR_HEADER,
    CLIENT_ADDRESS_HEADER,
    ISSUED_AT_HEADER,
    SIGNATURE_HEADER,
    Actor,
    internal_headers,
)
from common.logs import request_id_var
from common.replicas import Replicas, replica_urls
from common.responses import json_response, wants_fresh
from gateway.microcache import MicroCache, StoredAnswer, request_target

log = logging.getLogger(__name__)

# Never forwarded upstream: hop-by-hop headers, and credentials the gateway already consumed.
DROPPED_REQUEST_HEADERS = {
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "authorization",
    "x-api-key",
    "content-length",
    "cookie",
    ACTOR_HEADER,
    SIGNATURE_HEADER,
    ISSUED_AT_HEADER,
    CLIENT_ADDRESS_HEADER,
}
# What may stay as it is in an upstream path and query (RFC 3986 pchar, and `%` so an escape the
# client sent reaches the service unchanged); every other byte is percent-encoded, so no path or
# query a client can send makes an invalid upstream URL.
PATH_SAFE = "/%!$&'()*+,;=:@-._~"
QUERY_SAFE = PATH_SAFE + "?"


def upstream_url(path: str | bytes, query: bytes = b"") -> httpx.URL:
    """The upstream URL of a path (text, or the raw bytes the client sent) and a raw query."""
    encoded = (
        quote_from_bytes(path, PATH_SAFE) if isinstance(path, bytes) else quote(path, PATH_SAFE)
    )
    return httpx.URL(path=encoded, query=quote_from_bytes(query, QUERY_SAFE).encode())


def refuse_dot_segments(path: str) -> None:
    """`.` and `..` segments would be resolved against the service's base URL and could reach a
    path the routing table never allowed (`/api/v1/contents/../../metrics`): a 404."""
    if any(segment in (".", "..") for segment in path.split("/")):
        raise NotFound(f"no such endpoint: {path!r}", field="path")


DROPPED_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "server",
    "date",
    "x-request-id",
}


class Upstreams:
    """The services' replicas (`Replicas`), created in the lifespan."""

    def __init__(self, urls: dict[str, str], timeout_seconds: float, secret: str) -> None:
        self.secret = secret
        self.services = {
            name: Replicas(replica_urls(url), timeout_seconds) for name, url in urls.items()
        }

    async def close(self) -> None:
        for replicas in self.services.values():
            await replicas.close()

    def headers_for(self, actor: Actor | None, client_ip: str) -> dict[str, str]:
        """The request id and what the gateway vouches for: the actor and the client address
        (`common.client_address`), signed now. `X-Forwarded-For` carries the same address, for
        logs; the services believe only the signed one."""
        headers = {"x-request-id": request_id_var.get() or "", "x-forwarded-for": client_ip}
        headers.update(internal_headers(self.secret, actor, client_ip))
        return headers

    async def call(
        self,
        service: str,
        method: str,
        path: str | bytes,
        *,
        actor: Actor | None,
        client_ip: str,
        query: bytes = b"",
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | dict[str, str] | None = None,
    ) -> httpx.Response:
        outgoing = httpx.Headers(headers or {})
        outgoing.update(self.headers_for(actor, client_ip))
        url = upstream_url(path, query)
        try:
            return await self.services[service].request(method, url, body, outgoing)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(
                f"{service} service unavailable: {error.__class__.__name__}"
            ) from error

    async def forward(
        self,
        request: Request,
        service: str,
        actor: Actor | None,
        client_ip: str,
        cache: MicroCache | None = None,
    ) -> Response:
        """The service's answer to the request; an anonymous GET is answered from `cache`
        while a shared cache may reuse the answer, or waits for the one another request is
        fetching (`gateway.microcache`)."""
        refuse_dot_segments(request.url.path)
        raw_path, query = request_target(request.scope)
        if cache is None or actor is not None or request.method != "GET":
            return to_response(await self.forwarded(request, service, actor, client_ip))
        key = cache.key(raw_path, query, request.headers)
        if not wants_fresh(request.headers.get("cache-control", "")):
            stored = cache.get(key) or await cache.fetched_by_another(key)
            if stored is not None:
                return stored_response(request, stored)
        with cache.fetching(key):
            upstream = await self.forwarded(request, service, actor, client_ip)
            headers = list(passed_headers(upstream).items())
            cache.put(key, upstream.status_code, headers, upstream.content)
        return to_response(upstream)

    async def forwarded(
        self, request: Request, service: str, actor: Actor | None, client_ip: str
    ) -> httpx.Response:
        """The service's answer to the request as the client sent it."""
        raw_path, query = request_target(request.scope)
        # The raw bytes: a header value is not always ASCII, and the path and query are forwarded
        # as the client encoded them (re-encoded only where a byte may not stand in a URL).
        incoming = [
            (k, v)
            for k, v in request.headers.raw
            if k.decode("latin-1").lower() not in DROPPED_REQUEST_HEADERS
        ]
        return await self.call(
            service,
            request.method,
            raw_path,
            actor=actor,
            client_ip=client_ip,
            query=query,
            body=await request.body(),
            headers=incoming,
        )

    async def content_with_history(
        self, content_id: str, actor: Actor | None, client_ip: str
    ) -> Response:
        """A library item (ingest) with its review decisions (review) and per-target deliveries
        (distribute); a neighbour that cannot answer leaves its list null, the item still shows.
        The item's own refusal (404, 403…) is answered as ingest gave it."""
        quoted = quote(content_id, safe="")  # any id the client sent stays one path segment
        item = await self.call(
            "ingest", "GET", f"/api/v1/contents/{quoted}", actor=actor, client_ip=client_ip
        )
        if item.status_code != 200:
            return to_response(item)
        query = f"content_id={quoted}&limit=200".encode()
        reviews, deliveries = await asyncio.gather(
            self.call(
                "review", "GET", "/api/v1/reviews", actor=actor, client_ip=client_ip, query=query
            ),
            self.call(
                "distribute",
                "GET",
                "/api/v1/deliveries",
                actor=actor,
                client_ip=client_ip,
                query=query,
            ),
            return_exceptions=True,
        )
        body: dict[str, Any] = item.json()
        body["reviews"] = _items_or_none(reviews)
        body["deliveries"] = _items_or_none(deliveries)
        return json_response(body)

    async def openapi_documents(self) -> dict[str, dict[str, Any]]:
        """Each service's own OpenAPI document; a service that does not answer is left out."""
        docs: dict[str, dict[str, Any]] = {}
        for name, replicas in self.services.items():
            try:
                response = await replicas.request(
                    "GET", httpx.URL("/openapi.json"), b"", httpx.Headers()
                )
                response.raise_for_status()
                docs[name] = response.json()
            except Exception as error:  # a missing service only leaves its paths out
                log.warning("no OpenAPI from %s: %r", name, error)
        return docs


def _items_or_none(result: httpx.Response | BaseException) -> list[Any] | None:
    """A neighbour's list, or None when it could not be read."""
    if isinstance(result, BaseException) or result.status_code != 200:
        return None
    items: list[Any] | None = result.json().get("items")
    return items


def stored_response(request: Request, stored: StoredAnswer) -> Response:
    """A kept answer, or 304 when the caller holds its `ETag` already."""
    headers = dict(stored.headers) | {"age": str(stored.age())}
    etag = stored.etag
    if etag is not None and etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(stored.body, headers=headers)


def passed_headers(upstream: httpx.Response) -> dict[str, str]:
    """The service's response headers the caller receives."""
    return {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS}


def to_response(upstream: httpx.Response) -> Response:
    return Response(
        upstream.content, status_code=upstream.status_code, headers=passed_headers(upstream)
    )
