"""The gateway's own endpoints and the catch-all that forwards to the owning service."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html

from common.db import SessionDep
from common.errors import NotFound, ProblemError, problem_response
from common.identity import Actor
from common.responses import json_response
from gateway import login as logins
from gateway import service
from gateway.auth import CurrentActor, MaybeActor, client_ip
from gateway.openapi import fetch_service_docs, merge_schema
from gateway.proxy import to_response
from gateway.routing import service_for
from gateway.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    PasswordChange,
    StaffUserCreate,
    StaffUserOut,
    TokenOut,
)

router = APIRouter(prefix="/api/v1", tags=["auth"])
docs_router = APIRouter(include_in_schema=False)
proxy_router = APIRouter(include_in_schema=False)
PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
OPENAPI_TTL_SECONDS = 60.0


@router.post("/auth/token", response_model=TokenOut)
async def login(
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    request: Request,
    session: SessionDep,
) -> Response:
    """Exchange a staff user's name and password for a bearer token (OAuth2 password flow).

    401 for wrong credentials; 429 with `Retry-After` after repeated failures (per name and per
    address); 403 `password_expired` when the password must be changed first."""
    settings = request.app.state.settings
    outcome = await logins.attempt_login(
        session, username, password, client_ip(request), logins.LoginRules.of(settings)
    )
    if isinstance(outcome, ProblemError):
        return _refusal(outcome, request)  # returned, not raised: the failure count is committed
    token = service.issue_token(outcome, settings.token_secret, settings.token_ttl_seconds)
    return json_response(
        TokenOut(
            access_token=token, expires_in=settings.token_ttl_seconds, roles=outcome.roles
        ).model_dump()
    )


@router.post("/auth/password", status_code=204)
async def change_password(body: PasswordChange, request: Request, session: SessionDep) -> Response:
    """Set a new password with the current one (also an expired one); same throttles as login."""
    outcome = await logins.change_password(
        session,
        body.username,
        body.current_password,
        body.new_password,
        client_ip(request),
        logins.LoginRules.of(request.app.state.settings),
    )
    if isinstance(outcome, ProblemError):
        return _refusal(outcome, request)
    return Response(status_code=204)


def _refusal(error: ProblemError, request: Request) -> Response:
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        error.errors,
        request.url.path,
        error.headers,
    )


@router.get("/auth/me")
async def whoami(actor: CurrentActor) -> Response:
    """The identity the gateway vouches for on this request."""
    return json_response(actor.model_dump())


def admin_actor(actor: CurrentActor) -> Actor:
    """A dependency, so a non-admin is refused before its request body is even looked at."""
    actor.require_role("admin")
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyCreate, session: SessionDep, actor: AdminActor) -> Response:
    """Create a machine key (admin; a site-scoped admin only for one of its sites).

    The key is shown in this response only."""
    key, secret = await service.create_api_key(session, body, actor)
    created = ApiKeyCreated(
        **ApiKeyOut.model_validate(key, from_attributes=True).model_dump(), key=secret
    )
    return json_response(created.model_dump(mode="json"), status_code=201)


@router.get("/api-keys")
async def list_api_keys(session: SessionDep, actor: AdminActor) -> Response:
    """The API keys of the admin's sites with scopes and last use; never the secret (admin)."""
    keys = await service.list_api_keys(session, actor)
    items = [
        ApiKeyOut.model_validate(k, from_attributes=True).model_dump(mode="json") for k in keys
    ]
    return json_response({"items": items, "next_cursor": None})


@router.delete("/api-keys/{key_id}")
async def revoke_api_key(key_id: str, session: SessionDep, actor: AdminActor) -> Response:
    """Revoke a key at once (admin; a key outside a scoped admin's sites is a 404)."""
    key = await service.revoke_api_key(session, key_id, actor)
    return json_response(
        ApiKeyOut.model_validate(key, from_attributes=True).model_dump(mode="json")
    )


@router.post("/users", status_code=201, response_model=StaffUserOut)
async def create_user(
    body: StaffUserCreate, request: Request, session: SessionDep, actor: AdminActor
) -> Response:
    """Create a staff account (admin; a site-scoped admin only within its own sites)."""
    policy = logins.policy_of(request.app.state.settings)
    user = await service.create_user(session, body, actor, policy=policy)
    out = StaffUserOut.model_validate(user, from_attributes=True)
    return json_response(out.model_dump(), status_code=201)


@router.get("/users")
async def list_users(session: SessionDep, actor: AdminActor) -> Response:
    """The staff accounts of the admin's sites (every one for a global admin)."""
    users = await service.list_users(session, actor)
    items = [StaffUserOut.model_validate(u, from_attributes=True).model_dump() for u in users]
    return json_response({"items": items, "next_cursor": None})


@router.get("/contents/{content_id}")
async def content_with_history(content_id: str, request: Request, actor: MaybeActor) -> Response:
    """An item from the library, with its review decisions and per-target deliveries."""
    upstreams, ip = request.app.state.upstreams, client_ip(request)
    quoted = quote(content_id, safe="")  # any id the client sent stays one path segment
    item = await upstreams.call(
        "ingest", "GET", f"/api/v1/contents/{quoted}", actor=actor, client_ip=ip
    )
    if item.status_code != 200:
        return to_response(item)
    query = f"content_id={quoted}".encode()
    reviews, deliveries = await asyncio.gather(
        upstreams.call(
            "review",
            "GET",
            "/api/v1/reviews",
            actor=actor,
            client_ip=ip,
            query=query + b"&limit=200",
        ),
        upstreams.call(
            "distribute",
            "GET",
            "/api/v1/deliveries",
            actor=actor,
            client_ip=ip,
            query=query + b"&limit=200",
        ),
        return_exceptions=True,
    )
    body: dict[str, Any] = item.json()
    body["reviews"] = _items_or_none(reviews)
    body["deliveries"] = _items_or_none(deliveries)
    return json_response(body)


def _items_or_none(result: Any) -> list[Any] | None:
    """A neighbour's list, or None when it could not be read (the item still shows)."""
    if isinstance(result, BaseException) or result.status_code != 200:
        return None
    return result.json().get("items")


@docs_router.get("/openapi.json")
async def openapi_document(request: Request) -> Response:
    """The merged document, rebuilt at most every `OPENAPI_TTL_SECONDS` (services change rarely)."""
    app = request.app
    cached: tuple[float, bytes] | None = getattr(app.state, "openapi_cache", None)
    if cached is not None and time.monotonic() - cached[0] <= OPENAPI_TTL_SECONDS:
        return Response(cached[1], media_type="application/json")
    docs = await fetch_service_docs(app.state.upstreams)
    body = orjson.dumps(merge_schema(app.openapi(), docs))
    # A service that was down is asked again next time rather than left out for a minute.
    if len(docs) == len(app.state.upstreams.clients):
        app.state.openapi_cache = (time.monotonic(), body)
    return Response(body, media_type="application/json")


@docs_router.get("/docs")
async def swagger_ui() -> Response:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="信息中央厨房 API")


@proxy_router.api_route("/{path:path}", methods=PROXIED_METHODS)
async def forward(path: str, request: Request, actor: MaybeActor) -> Response:
    target = service_for(request.url.path)
    if target is None:
        raise NotFound(f"no such endpoint: {request.url.path}")
    ip = client_ip(request)
    if actor is None:
        request.app.state.limiter.check(ip)
    return await request.app.state.upstreams.forward(request, target, actor, ip)
