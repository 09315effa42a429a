"""Turning the credentials on a request into an `Actor` (or None for the public)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from common import client_address
from common.db import SessionDep
from common.errors import Unauthorized
from common.identity import Actor
from gateway import service
from gateway.settings import GatewaySettings


async def open311_api_key(request: Request) -> str | None:
    """Open311 clients send `api_key` as a query or form field, not as a header."""
    if not request.url.path.startswith("/open311/"):
        return None
    if "api_key" in request.query_params:
        return request.query_params["api_key"]
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        return fields.get("api_key", [None])[0]
    return None


async def resolve_actor(request: Request, session: AsyncSession) -> Actor | None:
    """The caller's identity; None without credentials; 401 for credentials that are wrong."""
    settings: GatewaySettings = request.app.state.settings
    authorization = request.headers.get("authorization", "")
    presented_key = request.headers.get("x-api-key")
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise Unauthorized(
                "use 'Authorization: Bearer <token or API key>'", field="authorization"
            )
        if credential.startswith(service.API_KEY_PREFIX):
            presented_key = credential
        else:
            user = await service.user_from_token(session, credential, settings.token_secret)
            return service.actor_of_user(user)
    presented_key = presented_key or await open311_api_key(request)
    if presented_key:
        return service.actor_of_key(await service.api_key_from_secret(session, presented_key))
    return None


async def current_actor(request: Request, session: SessionDep) -> Actor | None:
    return await resolve_actor(request, session)


async def required_actor(actor: Annotated[Actor | None, Depends(current_actor)]) -> Actor:
    if actor is None:
        raise Unauthorized("authentication required", field="authorization")
    return actor


MaybeActor = Annotated[Actor | None, Depends(current_actor)]
CurrentActor = Annotated[Actor, Depends(required_actor)]


def client_ip(request: Request) -> str:
    """The caller's address (`common.client_address.peer_address`)."""
    return client_address.peer_address(request)
