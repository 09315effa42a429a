"""HTTP routes of the staff workflow of a case: the queue, each transition (answering the staff
view), publication of the masked rendition, its redaction log, and knowledge suggestions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.identity import ActorDep
from common.pagination import MAX_LIMIT, Page
from common.responses import json_response
from services.interaction.cases import publication, replies, views, workflow
from services.interaction.context import Ctx
from services.interaction.knowledge import suggest_for_case
from services.interaction.models import Case
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import (
    CaseStaffPublic,
    Dispatch,
    ExtensionDecision,
    Forward,
    Items,
    KnowledgeEntryPublic,
    Merge,
    Opinion,
    PublicationDraft,
    PublicationStatusPublic,
    QueueItemPublic,
    Reason,
    RedactionPublic,
    Reply,
)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.get("/queue", response_model=Page[QueueItemPublic])
async def queue(
    ctx: CtxDep,
    actor: ActorDep,
    state: str | None = None,
    department: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Cases for staff: the office sees all, a handler only their department's."""
    return json_response(await views.queue(ctx, actor, state, department, cursor, limit))


async def _act(ctx: Ctx, number: str, action: Callable[[Case], Awaitable[None]]) -> Response:
    return json_response(await views.act(ctx, number, action))


@router.post("/{number}/screen", response_model=CaseStaffPublic)
async def screen(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Start screening (office)."""
    return await _act(ctx, number, lambda case: workflow.screen(ctx, case, actor))


@router.post("/{number}/accept", response_model=CaseStaffPublic)
async def accept(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Accept the case (office)."""
    return await _act(ctx, number, lambda case: workflow.accept(ctx, case, actor))


@router.post("/{number}/not-accept", response_model=CaseStaffPublic)
async def not_accept(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Do not accept, with a reason (office)."""
    return await _act(ctx, number, lambda case: workflow.not_accept(ctx, case, actor, body.reason))


@router.post("/{number}/merge", response_model=CaseStaffPublic)
async def merge(number: str, body: Merge, ctx: CtxDep, actor: ActorDep) -> Response:
    """Merge into another case on the same matter (office)."""
    return await _act(ctx, number, lambda case: workflow.merge(ctx, case, actor, body.into))


@router.post("/{number}/spam", response_model=CaseStaffPublic)
async def spam(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Mark as spam, with a reason (office)."""
    return await _act(ctx, number, lambda case: workflow.mark_spam(ctx, case, actor, body.reason))


@router.post("/{number}/dispatch", response_model=CaseStaffPublic)
async def dispatch(number: str, body: Dispatch, ctx: CtxDep, actor: ActorDep) -> Response:
    """Dispatch to a lead department with co-handlers (office)."""
    return await _act(
        ctx,
        number,
        lambda case: workflow.dispatch(ctx, case, actor, body.lead_department, body.co_departments),
    )


@router.post("/{number}/forward", response_model=CaseStaffPublic)
async def forward(number: str, body: Forward, ctx: CtxDep, actor: ActorDep) -> Response:
    """Forward an error report (纠错) to the site owner (office)."""
    return await _act(ctx, number, lambda case: replies.forward(ctx, case, actor, body.department))


@router.post("/{number}/return", response_model=CaseStaffPublic)
async def return_case(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Return to the office within the window, with a reason (lead handler)."""
    return await _act(ctx, number, lambda case: workflow.return_case(ctx, case, actor, body.reason))


@router.post("/{number}/start", response_model=CaseStaffPublic)
async def start(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Start handling (lead handler)."""
    return await _act(ctx, number, lambda case: workflow.start(ctx, case, actor))


@router.post("/{number}/opinions", response_model=CaseStaffPublic)
async def opinion(number: str, body: Opinion, ctx: CtxDep, actor: ActorDep) -> Response:
    """A co-handler's opinion for the unified reply (co-handler)."""
    return await _act(ctx, number, lambda case: workflow.add_opinion(ctx, case, actor, body.text))


@router.post("/{number}/extension", response_model=CaseStaffPublic)
async def request_extension(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Request the one extension before the due date (lead handler)."""
    return await _act(
        ctx, number, lambda case: workflow.request_extension(ctx, case, actor, body.reason)
    )


@router.post("/{number}/extension/decision", response_model=CaseStaffPublic)
async def decide_extension(
    number: str, body: ExtensionDecision, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Approve or deny the extension (office)."""
    return await _act(
        ctx,
        number,
        lambda case: workflow.decide_extension(ctx, case, actor, body.approve, body.reason),
    )


@router.post("/{number}/suspend", response_model=CaseStaffPublic)
async def suspend(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Suspend while waiting for the citizen (lead handler)."""
    return await _act(ctx, number, lambda case: workflow.suspend(ctx, case, actor, body.reason))


@router.post("/{number}/resume", response_model=CaseStaffPublic)
async def resume(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Resume a suspended case (lead handler)."""
    return await _act(ctx, number, lambda case: workflow.resume_by_staff(ctx, case, actor))


@router.post("/{number}/fix", response_model=CaseStaffPublic)
async def fix(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """纠错: the site owner starts fixing (lead handler)."""
    return await _act(ctx, number, lambda case: replies.fix(ctx, case, actor))


@router.post("/{number}/verify", response_model=CaseStaffPublic)
async def verify(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """纠错: the office verifies the fix (office)."""
    return await _act(ctx, number, lambda case: replies.verify(ctx, case, actor, body.reason))


@router.post("/{number}/reply", response_model=CaseStaffPublic)
async def submit_reply(number: str, body: Reply, ctx: CtxDep, actor: ActorDep) -> Response:
    """Submit the unified reply for review (lead handler)."""
    return await _act(
        ctx,
        number,
        lambda case: replies.submit_reply(ctx, case, actor, body.text, body.outcome, body.reason),
    )


@router.post("/{number}/reply/approve", response_model=CaseStaffPublic)
async def approve_reply(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Approve and send the reply (office)."""
    return await _act(ctx, number, lambda case: replies.approve_reply(ctx, case, actor))


@router.post("/{number}/reply/return", response_model=CaseStaffPublic)
async def return_reply(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Send the reply back to the handler, with a reason (office)."""
    return await _act(ctx, number, lambda case: replies.return_reply(ctx, case, actor, body.reason))


@router.post("/{number}/reopen", response_model=CaseStaffPublic)
async def reopen(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Reopen once for a valid dissatisfaction (office)."""
    return await _act(ctx, number, lambda case: replies.reopen(ctx, case, actor, body.reason))


@router.post("/{number}/supervise", response_model=CaseStaffPublic)
async def supervise(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """督办 (office)."""
    return await _act(ctx, number, lambda case: replies.supervise(ctx, case, actor, body.reason))


@router.post("/{number}/close", response_model=CaseStaffPublic)
async def close(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Close after follow-up or supervision, with a reason (office)."""
    return await _act(ctx, number, lambda case: replies.close(ctx, case, actor, body.reason))


@router.post("/{number}/publication", response_model=PublicationStatusPublic)
async def prepare_publication(
    number: str, body: PublicationDraft, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Prepare the masked public rendition (office)."""
    return json_response(await publication.prepare_number(ctx, number, actor, body))


@router.post("/{number}/publication/approve", response_model=PublicationStatusPublic)
async def approve_publication(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Approve the public rendition (another office member)."""
    return json_response(await publication.approve_number(ctx, number, actor))


@router.get("/{number}/redactions", response_model=Items[RedactionPublic])
async def redactions(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """The redaction log of the case's public rendition (office)."""
    workflow.require_office(actor)
    return json_response({"items": await publication.case_redactions(ctx, number)})


@router.get("/{number}/suggestions", response_model=Items[KnowledgeEntryPublic])
async def suggestions(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Knowledge-base entries similar to the case, valid today (handler, office)."""
    actor.require_role("handler", "office", "admin")
    return json_response({"items": await suggest_for_case(ctx, number)})
