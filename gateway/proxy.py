"""Forwarding a request to the owning service with the caller's verified identity."""

from __future__ import annotations

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
    """One pooled HTTP client per service, created in the lifespan."""

    def __init__(self, urls: dict[str, str], timeout_seconds: float, secret: str) -> None:
        self.secret = secret
        self.clients = {
            name: httpx.AsyncClient(
                base_url=url, timeout=timeout_seconds, limits=httpx.Limits(max_connections=100)
            )
            for name, url in urls.items()
        }

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

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
            return await self.clients[service].request(method, url, content=body, headers=outgoing)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(
                f"{service} service unavailable: {error.__class__.__name__}"
            ) from error

    async def forward(
        self, request: Request, service: str, actor: Actor | None, client_ip: str
    ) -> Response:
        # The raw bytes: a header value is not always ASCII, and the path and query are forwarded
        # as the client encoded them (re-encoded only where a byte may not stand in a URL).
        incoming = [
            (k, v)
            for k, v in request.headers.raw
            if k.decode("latin-1").lower() not in DROPPED_REQUEST_HEADERS
        ]
        refuse_dot_segments(request.url.path)
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        raw_path = raw_path.split(b"?", 1)[0]  # some ASGI clients leave the query on it
        upstream = await self.call(
            service,
            request.method,
            raw_path,
            actor=actor,
            client_ip=client_ip,
            query=request.scope.get("query_string", b""),
            body=await request.body(),
            headers=incoming,
        )
        return to_response(upstream)


def to_response(upstream: httpx.Response) -> Response:
    headers = {
        k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS
    }
    return Response(upstream.content, status_code=upstream.status_code, headers=headers)
