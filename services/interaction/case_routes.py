"""HTTP routes of cases: public submission and tracking, the staff workflow, publication."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from common.errors import BadRequest, Forbidden
from common.identity import ActorDep, OptionalActorDep
from common.pagination import MAX_LIMIT, decode_cursor, page
from common.responses import json_response
from services.interaction.cases import intake, publication, replies, workflow
from services.interaction.deps import ClientIp, CtxDep
from services.interaction.knowledge import suggest_for
from services.interaction.models import Case
from services.interaction.schemas import (
    CaseSubmission,
    Dispatch,
    ExtensionDecision,
    Forward,
    Merge,
    Opinion,
    PublicationDraft,
    Rating,
    Reason,
    Reply,
)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class TokenReason(Reason):
    token: str


@router.get("/form")
async def form(request: Request, ctx: CtxDep) -> Response:
    """A form token; submissions are refused until the form has been open a few seconds."""
    token = intake.issue_form_token(ctx.settings.internal_secret, ctx.now())
    return json_response(
        {"form_token": token, "min_seconds": ctx.settings.min_form_seconds},
        headers={"Cache-Control": "no-store"},
    )


@router.post("", status_code=201)
async def submit(body: CaseSubmission, ctx: CtxDep, ip: ClientIp) -> Response:
    """Submit a case without an account; returns the case number and a private tracking token."""
    if body.website:
        raise BadRequest("提交被拒绝", field="website")
    s = ctx.settings
    intake.check_form_token(
        body.form_token, s.internal_secret, ctx.now(), s.min_form_seconds, s.max_form_age_seconds
    )
    done = await intake.submit(ctx, body, ip)
    result = {
        "number": done.case.number,
        "token": done.token,
        "kind": done.case.kind,
        "received_on": done.case.received_on.isoformat(),
        "due_on": done.due.due_on.isoformat(),
        "due_provisional": done.due.provisional,
        "message": "已收到您的来信，请妥善保存编号和查询码",
    }
    headers = {"Location": f"/api/v1/cases/{done.case.number}", "Cache-Control": "no-store"}
    return json_response(result, status_code=201, headers=headers)


@router.get("")
async def public_list(
    ctx: CtxDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    kind: str | None = None,
    department: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """Published cases and replies (masked), newest first, with search."""
    return json_response(await publication.search(ctx, q, kind, department, cursor, limit))


@router.get("/queue")
async def queue(
    ctx: CtxDep,
    actor: ActorDep,
    state: str | None = None,
    department: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Cases for staff: the office sees all, a handler only their department's."""
    actor.require_role("office", "admin", "handler")
    query = select(Case)
    if not actor.has_role("office", "admin"):
        department = actor.department or "-"
    if state:
        query = query.where(Case.state == state)
    if department:
        query = query.where(Case.lead_department == department)
    position = decode_cursor(cursor)
    if position:
        query = query.where(Case.number > position)
    rows = list((await ctx.session.execute(query.order_by(Case.number).limit(limit + 1))).scalars())
    result = page(rows, limit, lambda c: c.number)
    result["items"] = [
        {
            "number": c.number,
            "kind": c.kind,
            "state": c.state,
            "title": c.title,
            "department": c.lead_department,
            "received_on": c.received_on.isoformat(),
        }
        for c in result["items"]
    ]
    return json_response(result)


@router.get("/{number}")
async def read(
    number: str,
    ctx: CtxDep,
    actor: OptionalActorDep,
    token: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """With the tracking token: the citizen's view. Staff: the full record. Else: if published."""
    no_store = {"Cache-Control": "no-store"}
    if token is not None:
        case = await intake.by_token(ctx, number, token)
        return json_response(await intake.citizen_view(ctx, case), headers=no_store)
    if actor is not None and actor.has_role("office", "admin", "handler"):
        case = await workflow.get_case(ctx, number)
        if not actor.has_role("office", "admin") and actor.department not in [
            case.lead_department,
            *case.co_departments,
        ]:
            raise Forbidden("不是本单位承办的件", field="department")
        return json_response(await intake.staff_view(ctx, case), headers=no_store)
    return json_response(publication.public_view(await publication.published(ctx, number)))


@router.post("/{number}/withdraw")
async def withdraw(number: str, body: TokenReason, ctx: CtxDep) -> Response:
    """The citizen withdraws the case before it is answered."""
    case = await intake.by_token(ctx, number, body.token)
    await replies.withdraw(ctx, case, body.reason)
    return json_response(await intake.citizen_view(ctx, case))


@router.post("/{number}/supplement")
async def supplement(number: str, body: TokenReason, ctx: CtxDep) -> Response:
    """The citizen supplies what was asked for; a suspended case resumes."""
    case = await intake.by_token(ctx, number, body.token)
    await workflow.resume(ctx, case, "citizen", workflow.require_reason(body.reason))
    return json_response(await intake.citizen_view(ctx, case))


@router.post("/{number}/satisfaction")
async def satisfaction(number: str, body: Rating, ctx: CtxDep) -> Response:
    """Rate the reply through the single-use link."""
    case = await replies.rate(ctx, number, body.token, body.rating, body.reason)
    return json_response(
        {"number": case.number, "state": case.state, "satisfaction": case.satisfaction}
    )


# --- staff actions: each calls one domain function and returns the staff view -------------


async def _done(ctx: CtxDep, case: Case) -> Response:
    return json_response(await intake.staff_view(ctx, case))


@router.post("/{number}/screen")
async def screen(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Start screening (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.screen(ctx, case, actor)
    return await _done(ctx, case)


@router.post("/{number}/accept")
async def accept(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Accept the case (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.accept(ctx, case, actor)
    return await _done(ctx, case)


@router.post("/{number}/not-accept")
async def not_accept(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Do not accept, with a reason (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.not_accept(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/merge")
async def merge(number: str, body: Merge, ctx: CtxDep, actor: ActorDep) -> Response:
    """Merge into another case on the same matter (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.merge(ctx, case, actor, body.into)
    return await _done(ctx, case)


@router.post("/{number}/spam")
async def spam(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Mark as spam, with a reason (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.mark_spam(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/dispatch")
async def dispatch(number: str, body: Dispatch, ctx: CtxDep, actor: ActorDep) -> Response:
    """Dispatch to a lead department with co-handlers (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.dispatch(ctx, case, actor, body.lead_department, body.co_departments)
    return await _done(ctx, case)


@router.post("/{number}/forward")
async def forward(number: str, body: Forward, ctx: CtxDep, actor: ActorDep) -> Response:
    """Forward an error report (纠错) to the site owner (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.forward(ctx, case, actor, body.department)
    return await _done(ctx, case)


@router.post("/{number}/return")
async def return_case(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Return to the office within the window, with a reason (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await workflow.return_case(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/start")
async def start(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Start handling (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await workflow.start(ctx, case, actor)
    return await _done(ctx, case)


@router.post("/{number}/opinions")
async def opinion(number: str, body: Opinion, ctx: CtxDep, actor: ActorDep) -> Response:
    """A co-handler's opinion for the unified reply (co-handler)."""
    case = await workflow.get_case(ctx, number)
    await workflow.add_opinion(ctx, case, actor, body.text)
    return await _done(ctx, case)


@router.post("/{number}/extension")
async def request_extension(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Request the one extension before the due date (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await workflow.request_extension(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/extension/decision")
async def decide_extension(
    number: str, body: ExtensionDecision, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Approve or deny the extension (office)."""
    case = await workflow.get_case(ctx, number)
    await workflow.decide_extension(ctx, case, actor, body.approve, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/suspend")
async def suspend(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Suspend while waiting for the citizen (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await workflow.suspend(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/resume")
async def resume(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Resume a suspended case (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await workflow.resume_by_staff(ctx, case, actor)
    return await _done(ctx, case)


@router.post("/{number}/fix")
async def fix(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """纠错: the site owner starts fixing (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await replies.fix(ctx, case, actor)
    return await _done(ctx, case)


@router.post("/{number}/verify")
async def verify(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """纠错: the office verifies the fix (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.verify(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/reply")
async def submit_reply(number: str, body: Reply, ctx: CtxDep, actor: ActorDep) -> Response:
    """Submit the unified reply for review (lead handler)."""
    case = await workflow.get_case(ctx, number)
    await replies.submit_reply(ctx, case, actor, body.text, body.outcome, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/reply/approve")
async def approve_reply(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Approve and send the reply (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.approve_reply(ctx, case, actor)
    return await _done(ctx, case)


@router.post("/{number}/reply/return")
async def return_reply(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Send the reply back to the handler, with a reason (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.return_reply(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/reopen")
async def reopen(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Reopen once for a valid dissatisfaction (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.reopen(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/supervise")
async def supervise(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """督办 (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.supervise(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/close")
async def close(number: str, body: Reason, ctx: CtxDep, actor: ActorDep) -> Response:
    """Close after follow-up or supervision, with a reason (office)."""
    case = await workflow.get_case(ctx, number)
    await replies.close(ctx, case, actor, body.reason)
    return await _done(ctx, case)


@router.post("/{number}/publication")
async def prepare_publication(
    number: str, body: PublicationDraft, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Prepare the masked public rendition (office)."""
    case = await workflow.get_case(ctx, number)
    draft = await publication.prepare(ctx, case, actor, body)
    return json_response({**publication.public_view(draft), "status": draft.status})


@router.post("/{number}/publication/approve")
async def approve_publication(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Approve the public rendition (another office member)."""
    case = await workflow.get_case(ctx, number)
    approved = await publication.approve(ctx, case, actor)
    return json_response({**publication.public_view(approved), "status": approved.status})


@router.get("/{number}/redactions")
async def redactions(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """The redaction log of the case's public rendition (office)."""
    workflow.require_office(actor)
    case = await workflow.get_case(ctx, number)
    return json_response({"items": await publication.redactions(ctx, f"case:{case.id}")})


@router.get("/{number}/suggestions")
async def suggestions(number: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Knowledge-base entries similar to the case, valid today (handler, office)."""
    actor.require_role("handler", "office", "admin")
    case = await workflow.get_case(ctx, number)
    return json_response({"items": await suggest_for(ctx, f"{case.title} {case.body}")})
