"""What staff and citizens read of a case: the staff queue, the one-case read (citizen, staff
or public view), and the staff action that answers with the staff view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from common.identity import Actor
from common.pagination import decode_cursor, page
from services.interaction import departments
from services.interaction.cases import intake, publication, workflow
from services.interaction.context import Ctx
from services.interaction.models import Case


async def queue(
    ctx: Ctx,
    actor: Actor,
    state: str | None,
    department: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """Cases for staff, by number: the office sees all, a handler only their department's."""
    actor.require_role(*departments.STAFF)
    department = departments.queue_department(actor, department)
    query = select(Case)
    if state:
        query = query.where(col(Case.state) == state)
    if department:
        query = query.where(col(Case.lead_department) == department)
    position = decode_cursor(cursor)
    if position:
        query = query.where(col(Case.number) > position)
    rows = list((await ctx.session.exec(query.order_by(col(Case.number)).limit(limit + 1))).all())
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
    return result


@dataclass(frozen=True)
class CaseRead:
    """A case as its reader may see it; `private` views carry personal data (never cached)."""

    view: dict[str, Any]
    private: bool


async def read(ctx: Ctx, number: str, token: str | None, actor: Actor | None) -> CaseRead:
    """With the tracking token: the citizen's view. Staff: the full record (a handler only of
    their department's cases). Anyone else: the publication, if there is one."""
    if token is not None:
        case = await intake.by_token(ctx, number, token)
        return CaseRead(await intake.citizen_view(ctx, case), private=True)
    if actor is not None and departments.is_staff(actor):
        case = await workflow.get_case(ctx, number)
        departments.require_case_access(actor, case)
        return CaseRead(await intake.staff_view(ctx, case), private=True)
    view = publication.public_view(await publication.published(ctx, number))
    return CaseRead(view, private=False)


async def act(ctx: Ctx, number: str, action: Callable[[Case], Awaitable[object]]) -> dict[str, Any]:
    """Load the case, apply one staff action to it, answer the staff view."""
    case = await workflow.get_case(ctx, number)
    await action(case)
    return await intake.staff_view(ctx, case)


async def citizen_act(
    ctx: Ctx, number: str, token: str, action: Callable[[Case], Awaitable[object]]
) -> dict[str, Any]:
    """Find the case by its tracking token, apply the citizen's action, answer their view."""
    case = await intake.by_token(ctx, number, token)
    await action(case)
    return await intake.citizen_view(ctx, case)
