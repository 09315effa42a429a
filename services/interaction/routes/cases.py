"""HTTP routes of cases as citizens see them: the form, submission, the public list, reading
one case (tracking token, staff, or its publication), withdrawal, supplement, satisfaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.errors import BadRequest
from common.identity import OptionalActorDep
from common.pagination import MAX_LIMIT, Page
from common.responses import json_response
from services.interaction.cases import intake, publication, replies, views, workflow
from services.interaction.routes.dependencies import ClientIp, CtxDep
from services.interaction.schemas import (
    CasePublicationPublic,
    CaseReceiptPublic,
    CaseStaffPublic,
    CaseSubmission,
    CitizenCasePublic,
    FormTokenPublic,
    RatedPublic,
    Rating,
    Reason,
)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
NO_STORE = {"Cache-Control": "no-store"}


class TokenReason(Reason):
    token: str


@router.get("/form", response_model=FormTokenPublic)
async def form(ctx: CtxDep) -> Response:
    """A form token; submissions are refused until the form has been open a few seconds."""
    token = intake.issue_form_token(ctx.settings.internal_secret, ctx.now())
    return json_response(
        {"form_token": token, "min_seconds": ctx.settings.min_form_seconds}, headers=NO_STORE
    )


@router.post("", status_code=201, response_model=CaseReceiptPublic)
async def submit(body: CaseSubmission, ctx: CtxDep, ip: ClientIp) -> Response:
    """Submit a case without an account; returns the case number and a private tracking token."""
    if body.website:
        raise BadRequest("提交被拒绝", field="website")
    receipt = await intake.submit_form(ctx, body, ip)
    headers = {"Location": f"/api/v1/cases/{receipt['number']}", **NO_STORE}
    return json_response(receipt, status_code=201, headers=headers)


@router.get("", response_model=Page[CasePublicationPublic])
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


@router.get("/{number}", response_model=CitizenCasePublic | CaseStaffPublic | CasePublicationPublic)
async def read(
    number: str,
    ctx: CtxDep,
    actor: OptionalActorDep,
    token: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """With the tracking token: the citizen's view. Staff: the full record. Else: if published."""
    found = await views.read(ctx, number, token, actor)
    return json_response(found.view, headers=NO_STORE if found.private else None)


@router.post("/{number}/withdraw", response_model=CitizenCasePublic)
async def withdraw(number: str, body: TokenReason, ctx: CtxDep) -> Response:
    """The citizen withdraws the case before it is answered."""
    return json_response(
        await views.citizen_act(
            ctx, number, body.token, lambda case: replies.withdraw(ctx, case, body.reason)
        )
    )


@router.post("/{number}/supplement", response_model=CitizenCasePublic)
async def supplement(number: str, body: TokenReason, ctx: CtxDep) -> Response:
    """The citizen supplies what was asked for; a suspended case resumes."""
    return json_response(
        await views.citizen_act(
            ctx, number, body.token, lambda case: workflow.supplement(ctx, case, body.reason)
        )
    )


@router.post("/{number}/satisfaction", response_model=RatedPublic)
async def satisfaction(number: str, body: Rating, ctx: CtxDep) -> Response:
    """Rate the reply through the single-use link."""
    case = await replies.rate(ctx, number, body.token, body.rating, body.reason)
    return json_response(
        {"number": case.number, "state": case.state, "satisfaction": case.satisfaction}
    )
