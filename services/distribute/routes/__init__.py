"""Distribute's HTTP routes, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from services.distribute.routes import (
    deliveries,
    directory,
    feeds,
    portal,
    sites,
    webhook_endpoints,
)

routers: list[APIRouter] = [
    directory.router,
    portal.router,
    feeds.router,
    sites.router,
    webhook_endpoints.router,
    deliveries.router,
]

__all__ = ["routers"]
