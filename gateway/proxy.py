"""Forwarding a request to the owning service with the caller's verified identity."""

from __future__ import annotations

import httpx
from fastapi import Request, Response

from common.errors import ServiceUnavailable
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
        path: str,
        *,
        actor: Actor | None,
        client_ip: str,
        query: bytes = b"",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        outgoing = {**(headers or {}), **self.headers_for(actor, client_ip)}
        url = httpx.URL(path=path, query=query)
        try:
            return await self.clients[service].request(method, url, content=body, headers=outgoing)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(
                f"{service} service unavailable: {error.__class__.__name__}"
            ) from error

    async def forward(
        self, request: Request, service: str, actor: Actor | None, client_ip: str
    ) -> Response:
        incoming = {
            k: v for k, v in request.headers.items() if k.lower() not in DROPPED_REQUEST_HEADERS
        }
        upstream = await self.call(
            service,
            request.method,
            request.url.path,
            actor=actor,
            client_ip=client_ip,
            query=request.url.query.encode(),
            body=await request.body(),
            headers=incoming,
        )
        return to_response(upstream)


def to_response(upstream: httpx.Response) -> Response:
    headers = {
        k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS
    }
    return Response(upstream.content, status_code=upstream.status_code, headers=headers)
