"""HTTP routes of the departments that handle cases."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from common.identity import ActorDep
from common.responses import cached_json_response, json_response
from services.interaction import departments
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import DepartmentIn, DepartmentPublic, Items

router = APIRouter(prefix="/api/v1/departments", tags=["departments"])


@router.get("", response_model=Items[DepartmentPublic])
async def list_departments(request: Request, ctx: CtxDep) -> Response:
    """Departments that handle cases (public)."""
    rows = await departments.list_departments(ctx.session)
    return cached_json_response(
        request, {"items": [d.model_dump(mode="json") for d in rows]}, max_age=60
    )


@router.put("/{code}", response_model=DepartmentPublic)
async def put_department(code: str, body: DepartmentIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Create or update a department (admin)."""
    actor.require_role("admin")
    department = await departments.upsert_department(ctx.session, code, body, actor.id)
    return json_response(department.model_dump(mode="json"))
