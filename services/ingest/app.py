"""Composition root of the ingest service (`uvicorn services.ingest.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from common.service_app import ServiceSpec, create_service_app
from services.ingest import models_intake  # noqa: F401  (tables on the shared metadata)
from services.ingest.chinese import warm_up
from services.ingest.consumers import handlers
from services.ingest.crawler.run import scheduler
from services.ingest.models import metadata, tables
from services.ingest.routes import router
from services.ingest.settings import IngestSettings
from services.ingest.sites import SiteCatalog
from services.ingest.webhooks import seal_legacy_secrets, secret_box


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    async def start_site_catalog(app: FastAPI) -> None:
        client = httpx.AsyncClient(base_url=settings.distribute_url, timeout=5.0)
        app.state.sites = SiteCatalog(client, settings.site_cache_seconds)
        # jieba and OpenCC load once per process, at start, not on the first request.
        await asyncio.to_thread(warm_up)

    async def seal_legacy_webhook_secrets(app: FastAPI) -> None:
        async with app.state.db.sessions() as session:
            if await seal_legacy_secrets(session, secret_box(settings)):
                await session.commit()

    spec = ServiceSpec(
        name="ingest",
        title="Central kitchen — ingest (resource library)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=handlers(settings),
        on_startup=[start_site_catalog, seal_legacy_webhook_secrets],
        jobs=[scheduler(settings)],
    )
    return create_service_app(spec)
