"""The departments that handle cases (承办单位), kept by admins; every change is audited.

Also the department access rule of staff: the office (and admins) see every case; a handler
sees only the cases their department leads or co-handles.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Forbidden, Unprocessable
from common.identity import Actor
from services.interaction import audit
from services.interaction.models import Case, Department
from services.interaction.schemas import DepartmentIn

OFFICE = ("office", "admin")
STAFF = (*OFFICE, "handler")
NO_DEPARTMENT = "-"  # a handler without a department sees no department's cases


def is_staff(actor: Actor | None) -> bool:
    """Office, admin or handler: someone who may read cases beyond their publication."""
    return actor is not None and actor.has_role(*STAFF)


def sees_every_department(actor: Actor) -> bool:
    return actor.has_role(*OFFICE)


def queue_department(actor: Actor, requested: str | None) -> str | None:
    """The department a staff queue is limited to: the office chooses (or none), a handler
    always gets their own."""
    if sees_every_department(actor):
        return requested
    return actor.department or NO_DEPARTMENT


def require_case_access(actor: Actor, case: Case) -> None:
    """A handler reads only the cases their department leads or co-handles; a handler without
    a department reads none (not even the cases no department leads yet)."""
    if sees_every_department(actor):
        return
    handling = [case.lead_department, *case.co_departments]
    if actor.department is None or actor.department not in handling:
        raise Forbidden("不是本单位承办的件", field="department")


async def list_departments(session: AsyncSession) -> list[Department]:
    return list((await session.exec(select(Department).order_by(col(Department.code)))).all())


async def upsert_department(
    session: AsyncSession, code: str, body: DepartmentIn, actor: str
) -> Department:
    """Create the department `body.code` or change its name and whether it takes cases."""
    if code != body.code:
        raise Unprocessable("路径与 code 不一致", field="code")
    department = await session.get(Department, body.code)
    action = "department.changed" if department else "department.created"
    department = department or Department(code=body.code, name=body.name)
    department.name, department.active = body.name, body.active
    session.add(department)
    data = {"name": body.name, "active": body.active}
    await audit.record(session, actor, action, f"department:{body.code}", data)
    return department
