"""The review service's HTTP routes, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from services.review.routes import audit, checks, lexicons, policies, reviews

routers: list[APIRouter] = [
    reviews.router,
    lexicons.router,
    policies.router,
    audit.router,
    checks.router,
]

__all__ = ["routers"]
