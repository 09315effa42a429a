"""New-media routes: the account registry (新媒体账号备案, admin) and the channel preview of a
version (staff, within their sites)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response

from common.db import SessionDep
from common.idempotency import request_hash
from common.identity import ActorDep
from common.pagination import MAX_LIMIT, Page
from common.responses import json_response
from services.distribute import account_registry, previews
from services.distribute.account_registry import AccountFilters
from services.distribute.routes.dependencies import DepsDep
from services.distribute.schemas import (
    AccountStatus,
    ChannelAccountCreate,
    ChannelAccountPublic,
    ChannelAccountStatusChange,
    ChannelAccountUpdate,
    ChannelPreviewPublic,
    Platform,
)

router = APIRouter(prefix="/api/v1/channels", tags=["admin"])
REPLAYED = "Idempotent-Replayed"


@router.post("/accounts", status_code=201, response_model=ChannelAccountPublic)
async def register_account(
    data: ChannelAccountCreate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register a WeChat official account or Weibo account (admin). The credentials are
    checked with the platform (refused: 422 on `credentials`; platform unreachable: 503),
    sealed at rest and never shown. One active account per platform per unit unless
    `exception_reason` says why (else 409 on `unit`).

    A retry with the same `Idempotency-Key` and request replays the first reply; the same key
    with another request is a 422, a retry while the first is still running a 409."""
    actor.require_role("admin")
    for site in data.sites:
        actor.require_site(site, field="sites")

    async def act() -> tuple[int, Any]:
        account = await account_registry.register_account(
            session, data, deps.channels, deps.box, actor.id
        )
        return 201, account_registry.account_out(account)

    digest = request_hash(request.method, request.url.path, await request.body())
    stored = await deps.idempotency.respond(
        request.app.state.db, session, actor.id, idempotency_key, digest, act
    )
    body = orjson.loads(bytes(stored.body))
    headers = {"Location": f"/api/v1/channels/accounts/{body['id']}"}
    if REPLAYED.lower() in stored.headers:
        headers[REPLAYED] = stored.headers[REPLAYED.lower()]
    return json_response(body, stored.status_code, headers)


@router.get("/accounts", response_model=Page[ChannelAccountPublic])
async def list_accounts(
    session: SessionDep,
    actor: ActorDep,
    platform: Platform | None = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    site: Annotated[str | None, Query(max_length=60)] = None,
    status: AccountStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Registered accounts in registration order, filtered (admin)."""
    actor.require_role("admin")
    filters = AccountFilters(platform=platform, unit=unit, site=site, status=status)
    return json_response(await account_registry.list_accounts(session, filters, cursor, limit))


@router.get("/accounts/{account_id}", response_model=ChannelAccountPublic)
async def get_account(account_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One account (admin)."""
    actor.require_role("admin")
    account = await account_registry.get_account(session, account_id)
    return json_response(account_registry.account_out(account))


@router.patch("/accounts/{account_id}", response_model=ChannelAccountPublic)
async def update_account(
    account_id: str,
    data: ChannelAccountUpdate,
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
) -> Response:
    """Change an account's name, sites, default columns, 备案 fields, safe domain or
    credentials (checked with the platform again) (admin); a closed account is 409."""
    actor.require_role("admin")
    for site in data.sites or []:
        actor.require_site(site, field="sites")
    account = await account_registry.update_account(
        session, account_id, data, deps.channels, deps.box, actor.id
    )
    return json_response(account_registry.account_out(account))


@router.post("/accounts/{account_id}/status", response_model=ChannelAccountPublic)
async def change_account_status(
    account_id: str, data: ChannelAccountStatusChange, session: SessionDep, actor: ActorDep
) -> Response:
    """Activate, suspend or close an account (admin; a reason to suspend or close). Closing
    is final: its deliveries not yet sent are cancelled (`delivery.updated`), and it cannot
    be activated again (409); activating checks the one-active-account rule."""
    actor.require_role("admin")
    account = await account_registry.change_status(session, account_id, data, actor.id)
    return json_response(account_registry.account_out(account))


@router.get("/previews/{content_id}/{version}", response_model=ChannelPreviewPublic)
async def channel_preview(
    # the shape of the library's ids: anything else cannot exist, and must not reach ingest's URL
    content_id: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")],
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
) -> Response:
    """What a version becomes on WeChat and Weibo before sign-off: each platform's rendition
    with its hash and findings, the accounts it would go to, and the named accounts it cannot
    go to (staff, within their sites; 404 otherwise)."""
    result = await previews.channel_preview(session, deps.fetcher, content_id, version, actor.sites)
    return json_response(result)
