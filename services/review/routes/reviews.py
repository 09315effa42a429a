"""Review tasks: the queues, one task, and the signatures on its stages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.pagination import Page
from common.responses import json_response
from services.review import decisions, queue, tasks
from services.review.routes.dependencies import (
    READ_ROLES,
    ConfidentialityDep,
    DepsDep,
    IdempotencyKey,
    Limit,
    once,
)
from services.review.schemas import (
    AttestationIn,
    DecisionIn,
    TaskDetailPublic,
    TaskListItemPublic,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"])

QueueName = Annotated[
    str | None, Query(alias="queue", pattern="^(stage|claimed|confidentiality|all)$")
]
Status = Annotated[str | None, Query(pattern="^(in_review|approved|rejected|returned|superseded)$")]


@router.get("/reviews", response_model=Page[TaskListItemPublic])
async def list_reviews(
    session: SessionDep,
    actor: ActorDep,
    queue_name: QueueName = None,
    status: Status = None,
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
    return json_response(await queue.review_page(session, actor, filters, cursor, limit))


@router.get("/reviews/{task_id}", response_model=TaskDetailPublic)
async def get_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One task with its findings, decisions and the diff against the last approved version."""
    actor.require_role(*READ_ROLES)
    detail = await tasks.task_view(session, task_id)
    actor.require_site(str(detail["site"]))
    return json_response(detail)


@router.post("/reviews/{task_id}/decisions", status_code=201, response_model=TaskDetailPublic)
async def post_decision(
    task_id: str,
    body: DecisionIn,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    deps: DepsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Approve, reject (with reason) or return (with comment) the current stage."""

    async def act() -> tuple[int, Any]:
        await decisions.decide(
            session,
            task_id,
            actor,
            body.decision,
            body.comment,
            body.override_reason,
            body.stage,
            body.version,
        )
        return 201, await tasks.task_view(session, task_id)

    return await once(request, session, deps, actor.id, idempotency_key, act)


@router.post("/reviews/{task_id}/attestation", status_code=201, response_model=TaskDetailPublic)
async def post_attestation(
    task_id: str,
    body: AttestationIn,
    request: Request,
    session: SessionDep,
    actor: ConfidentialityDep,
    deps: DepsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record the 保密审查 attestation (role confidentiality)."""

    async def act() -> tuple[int, Any]:
        await decisions.attest(session, task_id, actor, body.result, body.comment)
        return 201, await tasks.task_view(session, task_id)

    return await once(request, session, deps, actor.id, idempotency_key, act)


@router.post("/reviews/{task_id}/claim", response_model=TaskDetailPublic)
async def claim_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """Take the current stage into the caller's own queue."""
    await decisions.claim(session, task_id, actor)
    return json_response(await tasks.task_view(session, task_id))


@router.post("/reviews/{task_id}/release", response_model=TaskDetailPublic)
async def release_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """Give a claimed stage back to the shared queue."""
    await decisions.release(session, task_id, actor)
    return json_response(await tasks.task_view(session, task_id))
