"""Lexicons (sensitive words, classification marks) and wording lists: versions and uploads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from common.db import SessionDep, VersionPath
from common.identity import ActorDep
from common.pagination import Page
from common.responses import json_response
from services.review import lexicons
from services.review.routes.dependencies import DepsDep, GlobalAdminDep, IdempotencyKey, once
from services.review.schemas import (
    LexiconEntriesPublic,
    LexiconIn,
    LexiconPatch,
    LexiconPublic,
    LexiconUploadedPublic,
    LexiconVersionPublic,
)

router = APIRouter(prefix="/api/v1", tags=["review administration"])


@router.get("/lexicons", response_model=Page[LexiconPublic])
async def list_lexicons(session: SessionDep, actor: ActorDep) -> Response:
    """Every lexicon with its current version."""
    actor.require_role("admin", "reviewer")
    return json_response(await lexicons.lexicon_page(session))


@router.post("/lexicons", status_code=201, response_model=LexiconUploadedPublic)
async def create_lexicon(
    body: LexiconIn,
    request: Request,
    session: SessionDep,
    actor: GlobalAdminDep,
    deps: DepsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a lexicon and its version 1 from `text` (one entry per line)."""

    async def act() -> tuple[int, Any]:
        return 201, await lexicons.create_from_upload(session, body, actor.id)

    return await once(request, session, deps, actor.id, idempotency_key, act)


@router.get("/lexicons/{name}", response_model=LexiconEntriesPublic)
async def get_lexicon(name: str, session: SessionDep, actor: ActorDep) -> Response:
    """A lexicon with the entries of its current version."""
    actor.require_role("admin", "reviewer")
    return json_response(await lexicons.lexicon_with_entries(session, name))


@router.get("/lexicons/{name}/versions/{version}", response_model=LexiconVersionPublic)
async def get_lexicon_version(
    name: str, version: VersionPath, session: SessionDep, actor: ActorDep
) -> Response:
    """One immutable version of a lexicon."""
    actor.require_role("admin", "reviewer")
    return json_response(await lexicons.version_view(session, name, version))


@router.post("/lexicons/{name}/versions", status_code=201, response_model=LexiconUploadedPublic)
async def upload_lexicon_version(
    name: str,
    request: Request,
    session: SessionDep,
    actor: GlobalAdminDep,
    deps: DepsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Upload a new version as text/plain (one entry per line); bad lines → 422 naming them.

    Send an `Idempotency-Key`: a retried upload must not become two versions."""

    async def act() -> tuple[int, Any]:
        raw, content_type = await request.body(), request.headers.get("content-type", "")
        return 201, await lexicons.upload_text_version(session, name, raw, content_type, actor.id)

    return await once(request, session, deps, actor.id, idempotency_key, act)


@router.patch("/lexicons/{name}", response_model=LexiconPublic)
async def patch_lexicon(
    name: str, body: LexiconPatch, session: SessionDep, actor: GlobalAdminDep
) -> Response:
    """Switch a lexicon on or off (its versions are kept)."""
    return json_response(await lexicons.switch(session, name, body.active, actor.id))


@router.get("/wording", response_model=Page[LexiconEntriesPublic])
async def list_wording(session: SessionDep, actor: ActorDep) -> Response:
    """Wording-error (block) and typo (warn) lists with their wrong → right pairs."""
    actor.require_role("admin", "reviewer", "editor")
    return json_response(await lexicons.wording_page(session))
