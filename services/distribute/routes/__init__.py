"""Distribute's HTTP routes, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from services.distribute.routes import (
    channel_callbacks,
    channel_plan,
    channels,
    deliveries,
    directory,
    fanout,
    feeds,
    outlets,
    portal,
    reprints,
    sites,
    webhook_endpoints,
)

routers: list[APIRouter] = [
    channel_plan.router,  # before any /channels/{id} route
    directory.router,
    portal.router,
    feeds.router,
    sites.router,
    webhook_endpoints.router,
    fanout.router,
    deliveries.router,
    outlets.router,
    channels.router,
    channel_callbacks.router,
    reprints.router,
]

__all__ = ["routers"]
