"""`/api/v1/contents*`: submit, list and search, read, edit (new version), release, link."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from common.db import SessionDep, VersionPath
from common.identity import Actor, ActorDep
from common.pagination import MAX_LIMIT
from common.responses import dumps, json_response
from services.ingest import docnumber, idempotency, pipeline, service
from services.ingest.api.files import file_response
from services.ingest.api.intake import accepted, incoming_from, read_request
from services.ingest.api.searching import run_search
from services.ingest.schemas import ContentKind, ContentStatus, RelationIn, SubmissionAccepted
from services.ingest.search.query import SearchFilters

router = APIRouter(prefix="/api/v1", tags=["contents"])
# Who reads the library: staff and content keys; a key with only cases scopes holds no role.
LIBRARY_ROLES = (
    "admin", "editor", "reviewer", "confidentiality", "override", "office", "handler",
    "integrator", "reader",
)  # fmt: skip


def library_reader(actor: ActorDep) -> Actor:
    actor.require_role(*LIBRARY_ROLES)
    return actor


ReaderDep = Annotated[Actor, Depends(library_reader)]


def editor(actor: ActorDep) -> Actor:
    """As a dependency, so a caller without the role gets 403 before its body is validated."""
    actor.require_role("editor")
    return actor


EditorDep = Annotated[Actor, Depends(editor)]
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


@router.post(
    "/contents", status_code=202, response_model=SubmissionAccepted, openapi_extra=SUBMISSION_BODY
)
async def submit_content(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Submit an item (JSON, or multipart with attachments); a known document answers its id.

    With `Idempotency-Key` the key is claimed before anything is written: a concurrent request
    with the same key waits and replays the first answer, or gets a 409 while it is in progress.
    """
    actor.require_role("editor", "integrator")
    settings = request.app.state.settings
    read = await read_request(request, settings)
    submission = read.submission
    owned: idempotency.Claim | None = None
    if idempotency_key:
        # The digest covers what was submitted, not the multipart framing (a retry gets a new
        # boundary).
        digest = idempotency.request_hash(
            read.raw + b"".join(a["sha256"].encode() for a in read.attachments), request.url.path
        )
        keys = idempotency.store(settings)
        claimed = await keys.claim(request.app.state.db, actor.id, idempotency_key, digest)
        if isinstance(claimed, idempotency.Replay):
            return Response(
                claimed.body,
                status_code=claimed.status_code,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        owned = claimed
    try:
        actor.require_site(submission.site)
        await request.app.state.sites.require_targets(submission.site, submission.columns)
        await read.store_blobs(session)
        incoming = incoming_from(
            submission, actor, "rest", read.raw, read.media_type, read.attachments
        )
        outcome = await pipeline.ingest(session, incoming, settings)
        status, body = accepted(outcome)
        if owned is not None:
            await keys.complete(session, owned, status, dumps(body))
            # Commit here, not after the handler, so a failed commit still releases the key.
            await session.commit()
    except BaseException:
        if owned is not None:
            await session.rollback()
            await keys.release(request.app.state.db, owned)
        raise
    headers = {"Location": f"/api/v1/contents/{outcome.item.id}"}
    return json_response(body, status_code=status, headers=headers)


@router.get("/contents")
async def list_contents(
    request: Request,
    session: SessionDep,
    actor: ReaderDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: ContentStatus | None = None,
    site: str | None = None,
    column: str | None = None,
    kind: ContentKind | None = None,
    publisher: str | None = None,
    doc_number: str | None = None,
    author: str | None = None,
    topic: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    order: Literal["relevance", "date"] = "relevance",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """List library items newest first, or search them with `q` (staff: every site in scope)."""
    doc_number = docnumber.canonical(doc_number)
    if q is not None:
        filters = SearchFilters(
            site=site, column=column, kind=kind, publisher=publisher, doc_number=doc_number,
            status=status, topic=topic, date_from=date_from, date_to=date_to, sites=actor.sites,
        )  # fmt: skip
        return json_response(await run_search(session, q, filters, order, cursor, limit))
    filters_ = service.ContentFilters(
        status=status, site=site, column=column, kind=kind, publisher=publisher,
        doc_number=doc_number, author=author, topic=topic,
    )  # fmt: skip
    result = await service.list_items(session, filters_, cursor, limit, actor.sites)
    result["items"] = [service.summary_of(item) for item in result["items"]]  # type: ignore[attr-defined]
    return json_response(result)


@router.get("/contents/{content_id}")
async def get_content(content_id: str, session: SessionDep, actor: ReaderDep) -> Response:
    """One item: current version, metadata, sources, relations, cleaning steps, history."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    return json_response(await service.item_out(session, item))


@router.get("/contents/{content_id}/versions")
async def list_content_versions(content_id: str, session: SessionDep, actor: ReaderDep) -> Response:
    """Every version of an item with its author, hash and diff against the one before."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    versions = await service.list_versions(session, content_id)
    fields = ("version", "content_hash", "author", "created_at", "title", "diff", "cleaning")
    return json_response({"items": [{f: getattr(v, f) for f in fields} for v in versions]})


@router.get("/contents/{content_id}/versions/{version}")
async def get_content_version(
    content_id: str, version: VersionPath, session: SessionDep, actor: ReaderDep
) -> Response:
    """One immutable version, with its content hash, cleaning steps and diff."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    row = await service.get_version(session, content_id, version)
    return json_response(row.model_dump(mode="json"))


@router.get("/contents/{content_id}/versions/{version}/raw")
async def get_raw_input(
    content_id: str, version: VersionPath, session: SessionDep, actor: ReaderDep
) -> Response:
    """The input of a version exactly as received (byte for byte)."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    row = await service.get_version(session, content_id, version)
    blob = await service.get_blob(session, row.raw_sha256)
    # an HTML submission is a download here, never a page running in the gateway's origin
    return file_response(blob.data, blob.media_type, f"{content_id}-v{version}-raw")


async def _edit(
    content_id: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    actor.require_role("editor")
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    settings = request.app.state.settings
    read = await read_request(request, settings)
    submission = read.submission
    actor.require_site(submission.site)
    await request.app.state.sites.require_targets(submission.site, submission.columns)
    await read.store_blobs(session)
    incoming = incoming_from(submission, actor, "rest", read.raw, read.media_type, read.attachments)
    version = await pipeline.revise(session, item, incoming, settings)
    body = SubmissionAccepted(
        id=item.id, version=version.version, status=item.status, content_hash=version.content_hash
    ).model_dump()
    return json_response(body, status_code=202)


@router.post("/contents/{content_id}/versions", status_code=202, openapi_extra=SUBMISSION_BODY)
async def add_content_version(
    content_id: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Edit an item: a new immutable version (with diff and author) that goes to review."""
    return await _edit(content_id, request, session, actor)


@router.put("/contents/{content_id}", status_code=202, openapi_extra=SUBMISSION_BODY)
async def replace_content(
    content_id: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Same as POST …/versions: the full new version of the item."""
    return await _edit(content_id, request, session, actor)


@router.post("/contents/{content_id}/release")
async def release_content(
    content_id: str,
    session: SessionDep,
    actor: ActorDep,
    note: Annotated[str, Body(embed=True, max_length=500)] = "",
) -> Response:
    """Release a quarantined item to review after an editor checked the flagged spans."""
    actor.require_role("editor")
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    await service.release(session, item, actor.id, note)
    return json_response({"id": item.id, "version": item.version, "status": item.status})


@router.post("/contents/{content_id}/relations", status_code=201)
async def add_relation(
    content_id: str, relation: RelationIn, session: SessionDep, actor: EditorDep
) -> Response:
    """Link a 解读 to its policy (shown both ways) or a reprint to its original."""
    item = await service.get_item(session, content_id)
    actor.require_site(item.site)
    await service.link(session, item, relation.kind, relation.target_id)
    relations = await service.relations_of(session, item)
    return json_response(relations.model_dump(), status_code=201)
