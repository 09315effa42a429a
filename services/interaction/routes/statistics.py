"""HTTP route of the public statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from common.responses import cached_json_response
from services.interaction import statistics
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import CaseStatisticsPublic

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])


@router.get("", response_model=CaseStatisticsPublic)
async def public_statistics(
    request: Request,
    ctx: CtxDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    department: str | None = None,
) -> Response:
    """Received, accepted, replied, on time, average working days, satisfaction — with formulas."""
    figures = await statistics.statistics(ctx, start, end, department)
    return cached_json_response(request, figures, max_age=60)
