"""HTTP routes of the review service: parse, authorise, call one service function, return."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from common.db import INTEGER_MAX, SessionDep, VersionPath
from common.errors import Forbidden, Unprocessable
from common.idempotency import HEADER, request_hash
from common.identity import Actor, ActorDep, required_actor
from common.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from common.responses import json_response
from services.review import audit, lexicons, linkcheck, policies, queue, service
from services.review.checking import check_draft as run_draft_checks
from services.review.checks.lexicon import DEFAULT_SEVERITY, PAIR_KINDS
from services.review.schemas import (
    AttestationIn,
    CheckRequest,
    DecisionIn,
    LexiconIn,
    LexiconPatch,
    PolicyIn,
    finding_dict,
    finding_out,
    lexicon_out,
    policy_out,
    task_detail,
    task_summary,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"])
admin_router = APIRouter(prefix="/api/v1", tags=["review administration"])
checks_router = APIRouter(prefix="/api/v1", tags=["machine checks"])

READ_ROLES = ("reviewer", "confidentiality", "override", "editor", "admin", "reader")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]


def requires(*roles: str) -> Any:
    """An actor dependency holding one of `roles`: FastAPI runs dependencies before it reports
    body or query errors, so a caller without the role gets 403 whatever it sent."""

    def check(actor: Annotated[Actor, Depends(required_actor)]) -> Actor:
        actor.require_role(*roles)
        return actor

    return Annotated[Actor, Depends(check)]


AdminDep = requires("admin")


def global_admin(actor: AdminDep) -> Actor:
    """Lexicons and the chain serve every site: a site-scoped admin may not change them."""
    if actor.sites is not None:
        raise Forbidden("only an admin of every site may do this", field="sites")
    return actor


GlobalAdminDep = Annotated[Actor, Depends(global_admin)]
ConfidentialityDep = requires("confidentiality")
CheckerDep = requires("editor", "reviewer", "admin", "integrator")


async def _once(
    request: Request,
    session: SessionDep,
    actor_id: str,
    key: str | None,
    act: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    """Run a creating request once per `Idempotency-Key` (a retry replays the first answer)."""
    digest = request_hash(request.method, request.url.path, await request.body())
    store = request.app.state.idempotency
    return await store.respond(request.app.state.db, session, actor_id, key, digest, act)  # type: ignore[no-any-return]


async def _detail(session: SessionDep, task_id: str) -> dict[str, object]:
    task = await service.get_task(session, task_id)
    decisions = (await service.decisions_of(session, [task.id]))[task.id]
    findings = await service.findings_of(session, task.content_id, task.version)
    diff = await service.diff_against_approved(session, task)
    link_check = await linkcheck.status_of(session, task.id)
    return task_detail(task, decisions, findings, diff, link_check)


@router.get("/reviews")
async def list_reviews(
    session: SessionDep,
    actor: ActorDep,
    queue_name: Annotated[
        str | None, Query(alias="queue", pattern="^(stage|claimed|confidentiality|all)$")
    ] = None,  # noqa: E501
    status: Annotated[
        str | None, Query(pattern="^(in_review|approved|rejected|returned|superseded)$")
    ] = None,  # noqa: E501
    content_id: str | None = None,
    stage: str | None = None,
    site: str | None = None,
    urgent: bool | None = None,
    cursor: str | None = None,
    limit: Limit = 20,
) -> Response:
    """The caller's review queue (urgent first), or every task of one item by `content_id`."""
    actor.require_role(*READ_ROLES)
    filters = queue.TaskFilters(queue_name, status, content_id, stage, site, urgent)
    result = await queue.list_tasks(session, actor, filters, cursor, limit)
    tasks = result["items"]
    decisions = await service.decisions_of(session, [t.id for t in tasks])  # type: ignore[attr-defined]
    findings = await service.findings_for(session, tasks)  # type: ignore[arg-type]
    result["items"] = [  # type: ignore[attr-defined]
        {**task_summary(t, decisions[t.id]), "findings": [finding_out(f) for f in findings[t.id]]}
        for t in tasks  # type: ignore[attr-defined]
    ]
    return json_response(result)


@router.get("/reviews/{task_id}")
async def get_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One task with its findings, decisions and the diff against the last approved version."""
    actor.require_role(*READ_ROLES)
    detail = await _detail(session, task_id)
    actor.require_site(str(detail["site"]))
    return json_response(detail)


@router.post("/reviews/{task_id}/decisions", status_code=201)
async def post_decision(
    task_id: str,
    body: DecisionIn,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Approve, reject (with reason) or return (with comment) the current stage."""

    async def act() -> tuple[int, Any]:
        await service.decide(
            session,
            task_id,
            actor,
            body.decision,
            body.comment,
            body.override_reason,
            body.stage,
            body.version,
        )
        return 201, await _detail(session, task_id)

    return await _once(request, session, actor.id, idempotency_key, act)


@router.post("/reviews/{task_id}/attestation", status_code=201)
async def post_attestation(
    task_id: str,
    body: AttestationIn,
    request: Request,
    session: SessionDep,
    actor: ConfidentialityDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record the 保密审查 attestation (role confidentiality)."""

    async def act() -> tuple[int, Any]:
        await service.attest(session, task_id, actor, body.result, body.comment)
        return 201, await _detail(session, task_id)

    return await _once(request, session, actor.id, idempotency_key, act)


@router.post("/reviews/{task_id}/claim")
async def claim_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """Take the current stage into the caller's own queue."""
    await service.claim(session, task_id, actor)
    return json_response(await _detail(session, task_id))


@router.post("/reviews/{task_id}/release")
async def release_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """Give a claimed stage back to the shared queue."""
    await service.release(session, task_id, actor)
    return json_response(await _detail(session, task_id))


# --- lexicons and wording lists ----------------------------------------------------------


async def _upload_text(request: Request) -> str:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unprocessable("the upload must be UTF-8 text", field="body") from error
    if request.headers.get("content-type", "").startswith("application/json"):
        raise Unprocessable("send the lexicon as text/plain, one entry per line", field="body")
    return text


@admin_router.get("/lexicons")
async def list_lexicons(session: SessionDep, actor: ActorDep) -> Response:
    """Every lexicon with its current version."""
    actor.require_role("admin", "reviewer")
    return json_response(
        {
            "items": [lexicon_out(x) for x in await lexicons.list_lexicons(session)],
            "next_cursor": None,
        }
    )


@admin_router.post("/lexicons", status_code=201)
async def create_lexicon(
    body: LexiconIn,
    request: Request,
    session: SessionDep,
    actor: GlobalAdminDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a lexicon and its version 1 from `text` (one entry per line)."""

    async def act() -> tuple[int, Any]:
        entries = lexicons.parse_upload(body.kind, body.text)
        lexicon = await lexicons.create_lexicon(
            session,
            name=body.name,
            kind=body.kind,
            category=body.category,
            severity=body.severity or DEFAULT_SEVERITY[body.kind],
            description=body.description,
            entries=entries,
            actor=actor.id,
        )
        return 201, {**lexicon_out(lexicon), "entries": len(entries)}

    return await _once(request, session, actor.id, idempotency_key, act)


@admin_router.get("/lexicons/{name}")
async def get_lexicon(name: str, session: SessionDep, actor: ActorDep) -> Response:
    """A lexicon with the entries of its current version."""
    actor.require_role("admin", "reviewer")
    lexicon = await lexicons.get_lexicon(session, name)
    version = await lexicons.get_version(session, name, lexicon.version)
    return json_response({**lexicon_out(lexicon), "entries": version.entries})


@admin_router.get("/lexicons/{name}/versions/{version}")
async def get_lexicon_version(
    name: str, version: VersionPath, session: SessionDep, actor: ActorDep
) -> Response:
    """One immutable version of a lexicon."""
    actor.require_role("admin", "reviewer")
    row = await lexicons.get_version(session, name, version)
    return json_response(
        {
            "name": row.name,
            "version": row.version,
            "entries": row.entries,
            "created_by": row.created_by,
            "created_at": row.created_at,
        }
    )


@admin_router.post("/lexicons/{name}/versions", status_code=201)
async def upload_lexicon_version(
    name: str,
    request: Request,
    session: SessionDep,
    actor: GlobalAdminDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Upload a new version as text/plain (one entry per line); bad lines → 422 naming them.

    Send an `Idempotency-Key`: a retried upload must not become two versions."""

    async def act() -> tuple[int, Any]:
        lexicon = await lexicons.get_lexicon(session, name)
        entries = lexicons.parse_upload(lexicon.kind, await _upload_text(request))
        lexicon = await lexicons.upload_version(session, name, entries, actor.id)
        return 201, {**lexicon_out(lexicon), "entries": len(entries)}

    return await _once(request, session, actor.id, idempotency_key, act)


@admin_router.patch("/lexicons/{name}")
async def patch_lexicon(
    name: str, body: LexiconPatch, session: SessionDep, actor: GlobalAdminDep
) -> Response:
    """Switch a lexicon on or off (its versions are kept)."""
    return json_response(
        lexicon_out(await lexicons.set_active(session, name, body.active, actor.id))
    )


@admin_router.get("/wording")
async def list_wording(session: SessionDep, actor: ActorDep) -> Response:
    """Wording-error (block) and typo (warn) lists with their wrong → right pairs."""
    actor.require_role("admin", "reviewer", "editor")
    items = []
    for lexicon in await lexicons.list_lexicons(session, PAIR_KINDS):
        version = await lexicons.get_version(session, lexicon.name, lexicon.version)
        items.append({**lexicon_out(lexicon), "entries": version.entries})
    return json_response({"items": items, "next_cursor": None})


# --- policies ---------------------------------------------------------------------------

PolicySite = Annotated[str, Path(pattern=r"^(\*|[a-z0-9][a-z0-9-]{0,59})$")]
PolicyKind = Annotated[str, Path(pattern=r"^(\*|[a-z][a-z_-]{0,29})$")]


def policy_admin(site: PolicySite, actor: AdminDep) -> Actor:
    """An admin of `site` (of every site for `*`), checked before the body is looked at."""
    if site == "*" and actor.sites is not None:
        raise Forbidden("only an admin of every site may set the policy of site *", field="site")
    actor.require_site(site)
    return actor


PolicyAdminDep = Annotated[Actor, Depends(policy_admin)]


@admin_router.get("/review-policies")
async def list_policies(session: SessionDep, actor: ActorDep) -> Response:
    """Every configured policy (the built-in default applies where none matches)."""
    actor.require_role("admin", "reviewer")
    rows = await policies.list_policies(session)
    default = policies.EffectivePolicy(site="*", kind="*").as_dict()
    return json_response(
        {"items": [policy_out(r) for r in rows], "default": default, "next_cursor": None}
    )


@admin_router.get("/review-policies/{site}/{kind}")
async def get_policy(
    site: PolicySite, kind: PolicyKind, session: SessionDep, actor: ActorDep
) -> Response:  # noqa: E501
    """The policy that applies to (site, kind), saying which row it came from (within the
    caller's sites; `*` is readable by all of them)."""
    actor.require_role("admin", "reviewer", "editor")
    if site != "*":
        actor.require_site(site)
    return json_response((await policies.resolve(session, site, kind)).as_dict())


@admin_router.put("/review-policies/{site}/{kind}")
async def put_policy(
    site: PolicySite,
    kind: PolicyKind,
    body: PolicyIn,
    request: Request,
    session: SessionDep,
    actor: PolicyAdminDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create or replace the policy of (site, kind); `*` matches any. With `Idempotency-Key`
    a retry replays the first answer instead of recording a second policy change.
    A site-scoped admin sets only its own sites' policies (`*` is every site)."""

    async def act() -> tuple[int, Any]:
        row = await policies.put_policy(session, site, kind, body.values(), actor.id)
        return 200, policy_out(row)

    return await _once(request, session, actor.id, idempotency_key, act)


# --- audit ------------------------------------------------------------------------------


@admin_router.get("/audit")
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
    after = decode_cursor(cursor)
    after_seq = int(after) if after else None
    rows = await audit.history_within(session, actor.sites, subject, after_seq, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return json_response(
        {
            "items": [audit.entry_json(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1].seq) if more else None,
        }
    )


def _require_whole_chain(actor: Actor) -> None:
    """Head and verify speak for every site's entries: refused to site-scoped admins."""
    actor.require_role("admin")
    if actor.sites is not None:
        raise Forbidden("the whole audit chain is for admins of every site", field="sites")


@admin_router.get("/audit/head")
async def audit_head(session: SessionDep, actor: ActorDep) -> Response:
    """The chain head {seq, hash}, to keep outside as an anchor for `verify` (global admin)."""
    _require_whole_chain(actor)
    return json_response((await audit.current_anchor(session)).as_dict())


@admin_router.get("/audit/verify")
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


@checks_router.post("/checks")
async def check_draft(
    body: CheckRequest, request: Request, session: SessionDep, actor: CheckerDep
) -> Response:
    """Run the machine checks on a draft; nothing is stored."""
    checks = request.app.state.checks
    findings = await run_draft_checks(session, checks, body, body.check_links)
    blocking = sum(f.severity == "block" for f in findings)
    return json_response({"findings": [finding_dict(f) for f in findings], "blocking": blocking})
