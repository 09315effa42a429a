"""What admins manage at the gateway: machine keys and staff accounts (audit-logged)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.pagination import Page
from common.responses import json_response
from gateway import service
from gateway.routes.dependencies import AdminActor, DepsDep
from gateway.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, StaffUserCreate, StaffUserOut

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyCreate, session: SessionDep, actor: AdminActor) -> Response:
    """Create a machine key (admin; a site-scoped admin only for one of its sites).

    The key is shown in this response only."""
    key, secret = await service.create_api_key(session, body, actor)
    created = ApiKeyCreated(
        **ApiKeyOut.model_validate(key, from_attributes=True).model_dump(), key=secret
    )
    return json_response(created.model_dump(mode="json"), status_code=201)


@router.get("/api-keys", response_model=Page[ApiKeyOut])
async def list_api_keys(session: SessionDep, actor: AdminActor) -> Response:
    """The API keys of the admin's sites with scopes and last use; never the secret (admin)."""
    keys = await service.list_api_keys(session, actor)
    items = [
        ApiKeyOut.model_validate(k, from_attributes=True).model_dump(mode="json") for k in keys
    ]
    return json_response({"items": items, "next_cursor": None})


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
async def revoke_api_key(key_id: str, session: SessionDep, actor: AdminActor) -> Response:
    """Revoke a key at once (admin; a key outside a scoped admin's sites is a 404)."""
    key = await service.revoke_api_key(session, key_id, actor)
    return json_response(
        ApiKeyOut.model_validate(key, from_attributes=True).model_dump(mode="json")
    )


@router.post("/users", status_code=201, response_model=StaffUserOut)
async def create_user(
    body: StaffUserCreate, session: SessionDep, actor: AdminActor, deps: DepsDep
) -> Response:
    """Create a staff account (admin; a site-scoped admin only within its own sites)."""
    user = await service.create_user(session, body, actor, policy=deps.password_policy)
    out = StaffUserOut.model_validate(user, from_attributes=True)
    return json_response(out.model_dump(), status_code=201)


@router.get("/users", response_model=Page[StaffUserOut])
async def list_users(session: SessionDep, actor: AdminActor) -> Response:
    """The staff accounts of the admin's sites (every one for a global admin)."""
    users = await service.list_users(session, actor)
    items = [StaffUserOut.model_validate(u, from_attributes=True).model_dump() for u in users]
    return json_response({"items": items, "next_cursor": None})
