"""HTTP routes of the library: parse, authorise, call one service function, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.pagination import MAX_LIMIT
from common.responses import json_response
from services.ingest import service
from services.ingest.models import ContentItem
from services.ingest.schemas import (
    ContentKind,
    ContentOut,
    ContentStatus,
    ContentSubmission,
    ContentSummary,
    StatusEntry,
    SubmissionAccepted,
)

router = APIRouter(prefix="/api/v1", tags=["contents"])


def summary(item: ContentItem) -> dict[str, object]:
    return ContentSummary.model_validate(item, from_attributes=True).model_dump(mode="json")


@router.post("/contents", status_code=202, response_model=SubmissionAccepted)
async def submit_content(
    submission: ContentSubmission, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Submit an item into the library; review and distribution follow asynchronously."""
    actor.require_role("editor", "integrator")
    actor.require_site(submission.site)
    await request.app.state.sites.require_targets(submission.site, submission.columns)
    item = await service.submit_content(session, submission, actor)
    accepted = SubmissionAccepted(
        id=item.id, version=item.version, status=item.status, content_hash=item.content_hash
    )
    return json_response(
        accepted.model_dump(), status_code=202, headers={"Location": f"/api/v1/contents/{item.id}"}
    )


@router.get("/contents")
async def list_contents(
    session: SessionDep,
    actor: ActorDep,
    status: ContentStatus | None = None,
    site: str | None = None,
    column: str | None = None,
    kind: ContentKind | None = None,
    publisher: str | None = None,
    doc_number: str | None = None,
    author: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """List library items, newest first, with filters."""
    filters = service.ContentFilters(
        status=status,
        site=site,
        column=column,
        kind=kind,
        publisher=publisher,
        doc_number=doc_number,
        author=author,
    )
    result = await service.list_items(session, filters, cursor, limit, actor.sites)
    result["items"] = [summary(item) for item in result["items"]]  # type: ignore[attr-defined]
    return json_response(result)


@router.get("/contents/{content_id}", response_model=ContentOut)
async def get_content(content_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One item with its current version and status history."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    version = await service.get_version(session, content_id, item.version)
    history = await service.status_history(session, content_id)
    out = ContentOut(
        **summary(item),
        status_reason=item.status_reason,
        body_html=version.body_html,
        body_text=version.body_text,
        urgent=item.urgent,
        approved_version=item.approved_version,
        published_version=item.published_version,
        created_at=item.created_at,
        history=[StatusEntry.model_validate(h, from_attributes=True) for h in history],
    )
    return json_response(out.model_dump(mode="json"))


@router.get("/contents/{content_id}/versions/{version}")
async def get_content_version(
    content_id: str, version: int, session: SessionDep, actor: ActorDep
) -> Response:
    """One immutable version, with its content hash."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    row = await service.get_version(session, content_id, version)
    return json_response(row.model_dump(mode="json"))
