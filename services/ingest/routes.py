"""Every HTTP route of the ingest service, gathered for the composition root."""

from __future__ import annotations

from fastapi import APIRouter

from services.ingest.api import contents, crawling, files, hooks, public

router = APIRouter()
for module in (contents, public, hooks, files, crawling):
    router.include_router(module.router)
