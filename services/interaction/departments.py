"""The departments that handle cases (承办单位), kept by admins; every change is audited."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.interaction import audit
from services.interaction.models import Department
from services.interaction.schemas import DepartmentIn


async def upsert_department(session: AsyncSession, body: DepartmentIn, actor: str) -> Department:
    """Create the department `body.code` or change its name and whether it takes cases."""
    department = await session.get(Department, body.code)
    action = "department.changed" if department else "department.created"
    department = department or Department(code=body.code, name=body.name)
    department.name, department.active = body.name, body.active
    session.add(department)
    data = {"name": body.name, "active": body.active}
    await audit.record(session, actor, action, f"department:{body.code}", data)
    return department
