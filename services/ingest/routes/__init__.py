"""HTTP routes of the library: parse, authorise, call one domain function, return."""

from __future__ import annotations

from fastapi import APIRouter

from services.ingest.routes import (
    attachments,
    contents,
    crawling,
    retraction,
    schedules,
    search,
    webhooks,
)

routers: list[APIRouter] = [
    contents.router,
    retraction.router,
    schedules.router,
    search.router,
    webhooks.router,
    attachments.router,
    crawling.router,
]
