"""Every router of the service, in the order FastAPI should match them."""

from __future__ import annotations

from fastapi import APIRouter

from services.interaction.case_routes import router as case_router
from services.interaction.feature_routes import router as feature_router
from services.interaction.open311 import router as open311_router
from services.interaction.routes import router as calendar_router

routers: list[APIRouter] = [calendar_router, case_router, feature_router, open311_router]
