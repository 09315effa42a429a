"""The hash-chained audit trail: history (scoped to the caller's sites), head, verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.db import INTEGER_MAX, SessionDep
from common.errors import Forbidden, Unprocessable
from common.identity import Actor, ActorDep
from common.pagination import Page
from common.responses import json_response
from services.review import audit
from services.review.routes.dependencies import Limit
from services.review.schemas import AnchorPublic, AuditEntryPublic, VerificationPublic

router = APIRouter(prefix="/api/v1", tags=["review administration"])


@router.get("/audit", response_model=Page[AuditEntryPublic])
async def audit_history(
    session: SessionDep,
    actor: ActorDep,
    subject: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Response:
    """The audit trail, oldest first; `subject` (a content id, `lexicon:…`, `policy:…`) filters.

    A site-scoped caller sees only the entries of items reviewed for its sites."""
    actor.require_role("admin", "reviewer", "confidentiality", "override", "reader")
    return json_response(await audit.history_page(session, actor.sites, subject, cursor, limit))


def _require_whole_chain(actor: Actor) -> None:
    """Head and verify speak for every site's entries: refused to site-scoped admins."""
    actor.require_role("admin")
    if actor.sites is not None:
        raise Forbidden("the whole audit chain is for admins of every site", field="sites")


@router.get("/audit/head", response_model=AnchorPublic)
async def audit_head(session: SessionDep, actor: ActorDep) -> Response:
    """The chain head {seq, hash}, to keep outside as an anchor for `verify` (global admin)."""
    _require_whole_chain(actor)
    return json_response((await audit.current_anchor(session)).as_dict())


@router.get("/audit/verify", response_model=VerificationPublic)
async def audit_verify(
    session: SessionDep,
    actor: ActorDep,
    anchor_seq: Annotated[int | None, Query(ge=0, le=INTEGER_MAX)] = None,
    anchor_hash: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
) -> Response:
    """Walk the chain; `first_bad_seq` names the first entry altered or removed. With an anchor
    (a head kept outside), a consistently re-hashed rewrite is reported at the anchor.
    Global admins only: the walk covers every site's entries."""
    _require_whole_chain(actor)
    if (anchor_seq is None) != (anchor_hash is None):
        missing = "anchor_hash" if anchor_hash is None else "anchor_seq"
        raise Unprocessable("anchor_seq and anchor_hash go together", field=missing)
    anchor = None
    if anchor_seq is not None and anchor_hash is not None:
        anchor = audit.Anchor(anchor_seq, anchor_hash)
    return json_response((await audit.verify(session, anchor)).as_dict())
