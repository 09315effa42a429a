"""FastAPI request dependencies of the gateway: its `Deps`, the caller's identity and address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common import client_address
from common.db import SessionDep
from common.errors import Unauthorized
from common.identity import Actor
from gateway import auth
from gateway.deps import Deps


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]


async def open311_api_key(request: Request) -> str | None:
    """Open311 clients send `api_key` as a query or form field, not as a header."""
    if not request.url.path.startswith(auth.OPEN311_PREFIX):
        return None
    if "api_key" in request.query_params:
        return request.query_params["api_key"]
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(auth.FORM_CONTENT_TYPE):
        return None
    return auth.open311_form_key(content_type, await request.body())


async def current_actor(request: Request, session: SessionDep, deps: DepsDep) -> Actor | None:
    """The caller's identity; None without credentials; 401 for credentials that are wrong."""
    found = auth.credentials_of(
        request.headers.get("authorization", ""), request.headers.get(auth.API_KEY_HEADER)
    )
    if found.empty:
        found = auth.Credentials(api_key=await open311_api_key(request))
    return await auth.actor_of(session, found, deps.settings.token_secret)


async def required_actor(actor: Annotated[Actor | None, Depends(current_actor)]) -> Actor:
    if actor is None:
        raise Unauthorized("authentication required", field="authorization")
    return actor


MaybeActor = Annotated[Actor | None, Depends(current_actor)]
CurrentActor = Annotated[Actor, Depends(required_actor)]


async def admin_actor(actor: CurrentActor) -> Actor:
    """A dependency, so a non-admin is refused before its request body is even looked at."""
    actor.require_role("admin")
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]


async def client_ip(request: Request) -> str:
    """The caller's address (`common.client_address.peer_address`)."""
    return client_address.peer_address(request)


ClientIp = Annotated[str, Depends(client_ip)]
