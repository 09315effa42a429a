"""Machine checks on a draft, before it is submitted: nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.responses import json_response
from services.review.checking import check_draft as run_draft_checks
from services.review.routes.dependencies import CheckerDep, DatabaseDep, DepsDep
from services.review.schemas import CheckRequest, CheckResultPublic, check_result

router = APIRouter(prefix="/api/v1", tags=["machine checks"])


@router.post("/checks", response_model=CheckResultPublic)
async def check_draft(
    body: CheckRequest, database: DatabaseDep, deps: DepsDep, actor: CheckerDep
) -> Response:
    """Run the machine checks on a draft; nothing is stored."""
    findings = await run_draft_checks(database, deps.checks, body)
    return json_response(check_result(findings))
