"""Every router of the interaction service, in the order FastAPI should match them.

The staff routes come before the citizens' so `/cases/queue` is not read as a case number.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.interaction.routes import (
    calendar,
    case_staff,
    cases,
    departments,
    interviews,
    knowledge,
    open311,
    statistics,
    surveys,
)

routers: list[APIRouter] = [
    calendar.router,
    departments.router,
    case_staff.router,
    cases.router,
    knowledge.router,
    surveys.router,
    interviews.router,
    statistics.router,
    open311.router,
]
