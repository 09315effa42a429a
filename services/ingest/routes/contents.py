"""`/api/v1/contents*`: submit, list and search, read, edit (new version), release, link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response

from common.db import SessionDep, VersionPath
from common.identity import ActorDep
from common.pagination import Page
from common.responses import json_response
from services.ingest import intake, library, relations
from services.ingest import status as item_status
from services.ingest.routes.attachments import FILE_ANSWER, file_response
from services.ingest.routes.bodies import read_request
from services.ingest.routes.dependencies import DepsDep, EditorDep, ReaderDep, SearchDep
from services.ingest.schemas import (
    ContentPublic,
    ContentStatus,
    ContentSummaryPublic,
    ContentVersionPublic,
    RelationIn,
    RelationsPublic,
    ReleasedPublic,
    StaffSearchPublic,
    SubmissionAcceptedPublic,
    VersionListPublic,
)
from services.ingest.search.results import run_search

router = APIRouter(prefix="/api/v1", tags=["contents"])
SUBMISSION_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ContentSubmission"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "submission": {"type": "string", "description": "ContentSubmission JSON"},
                        "attachments": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        }
    }
}
ALREADY_KNOWN: dict[int | str, dict[str, Any]] = {
    200: {"model": SubmissionAcceptedPublic, "description": "already in the library: its item"}
}


@router.post(
    "/contents",
    status_code=202,
    response_model=SubmissionAcceptedPublic,
    responses=ALREADY_KNOWN,
    openapi_extra=SUBMISSION_BODY,
)
async def submit_content(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Submit an item (JSON, or multipart with attachments); a known document answers its id.

    With `Idempotency-Key` the key is claimed before anything is written: a concurrent request
    with the same key waits and replays the first answer, or gets a 409 while it is in progress;
    the same key with another request is a 422.
    """
    actor.require_role("editor", "integrator")
    read = await read_request(request, deps.settings)
    created: list[str] = []

    async def act() -> tuple[int, dict[str, Any]]:
        code, body = await intake.submit(session, deps, read, actor)
        created.append(body["id"])
        return code, body

    response = await deps.idempotency.respond(
        request.app.state.db,
        session,
        actor.id,
        idempotency_key or None,
        read.digest(request.url.path),
        act,
    )
    if created:  # a replay answers as the first time, without a Location
        response.headers["Location"] = f"/api/v1/contents/{created[0]}"
    return response


@router.get("/contents", response_model=Page[ContentSummaryPublic] | StaffSearchPublic)
async def list_contents(
    session: SessionDep,
    actor: ReaderDep,
    search: SearchDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: ContentStatus | None = None,
    site: str | None = None,
    author: str | None = None,
) -> Response:
    """List library items newest first, or search them with `q` (staff: every site in scope)."""
    if q is not None:
        filters = search.filters(site=site, status=status, sites=actor.sites)
        found = await run_search(session, q, filters, search.order, search.cursor, search.limit)
        return json_response(found)
    listing = library.ContentFilters(
        status=status, site=site, column=search.column, kind=search.kind,
        publisher=search.publisher, doc_number=search.doc_number, author=author,
        topic=search.topic,
    )  # fmt: skip
    return json_response(
        await library.list_items(session, listing, search.cursor, search.limit, actor.sites)
    )


@router.get("/contents/{content_id}", response_model=ContentPublic)
async def get_content(content_id: str, session: SessionDep, actor: ReaderDep) -> Response:
    """One item: current version, metadata, sources, relations, cleaning steps, history."""
    return json_response(await library.content(session, content_id, actor))


@router.get("/contents/{content_id}/versions", response_model=VersionListPublic)
async def list_content_versions(content_id: str, session: SessionDep, actor: ReaderDep) -> Response:
    """Every version of an item with its author, hash and diff against the one before."""
    return json_response(await library.version_history(session, content_id, actor))


@router.get("/contents/{content_id}/versions/{version}", response_model=ContentVersionPublic)
async def get_content_version(
    content_id: str, version: VersionPath, session: SessionDep, actor: ReaderDep
) -> Response:
    """One immutable version, with its content hash, cleaning steps and diff."""
    return json_response(await library.version_of(session, content_id, version, actor))


@router.get(
    "/contents/{content_id}/versions/{version}/raw",
    response_class=Response,
    response_model=None,
    responses=FILE_ANSWER,
)
async def get_raw_input(
    content_id: str, version: VersionPath, session: SessionDep, actor: ReaderDep
) -> Response:
    """The input of a version exactly as received (byte for byte)."""
    blob = await library.raw_input(session, content_id, version, actor)
    # an HTML submission is a download here, never a page running in the gateway's origin
    return file_response(blob.data, blob.media_type, f"{content_id}-v{version}-raw")


async def _edit(
    content_id: str, request: Request, session: SessionDep, actor: ActorDep, deps: DepsDep
) -> Response:
    actor.require_role("editor")
    item = await library.item_in_scope(session, content_id, actor)
    read = await read_request(request, deps.settings)
    return json_response(await intake.revise(session, deps, item, read, actor), status_code=202)


@router.post(
    "/contents/{content_id}/versions",
    status_code=202,
    response_model=SubmissionAcceptedPublic,
    openapi_extra=SUBMISSION_BODY,
)
async def add_content_version(
    content_id: str, request: Request, session: SessionDep, actor: ActorDep, deps: DepsDep
) -> Response:
    """Edit an item: a new immutable version (with diff and author) that goes to review."""
    return await _edit(content_id, request, session, actor, deps)


@router.put(
    "/contents/{content_id}",
    status_code=202,
    response_model=SubmissionAcceptedPublic,
    openapi_extra=SUBMISSION_BODY,
)
async def replace_content(
    content_id: str, request: Request, session: SessionDep, actor: ActorDep, deps: DepsDep
) -> Response:
    """Same as POST …/versions: the full new version of the item."""
    return await _edit(content_id, request, session, actor, deps)


@router.post("/contents/{content_id}/release", response_model=ReleasedPublic)
async def release_content(
    content_id: str,
    session: SessionDep,
    actor: ActorDep,
    note: Annotated[str, Body(embed=True, max_length=500)] = "",
) -> Response:
    """Release a quarantined item to review after an editor checked the flagged spans."""
    actor.require_role("editor")
    return json_response(await item_status.release(session, content_id, actor, note))


@router.post("/contents/{content_id}/relations", status_code=201, response_model=RelationsPublic)
async def add_relation(
    content_id: str, relation: RelationIn, session: SessionDep, actor: EditorDep
) -> Response:
    """Link a 解读 to its policy (shown both ways) or a reprint to its original."""
    linked = await relations.link(session, content_id, relation, actor)
    return json_response(linked.model_dump(), status_code=201)
