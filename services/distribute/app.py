"""Composition root of distribute (`uvicorn services.distribute.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from common.secretbox import SecretBox
from common.service_app import ServiceSpec, create_service_app
from services.distribute.admin_routes import router as admin_router
from services.distribute.consumers import build_handlers
from services.distribute.dispatch import webhook_job
from services.distribute.doorbell import Doorbell
from services.distribute.library import VersionFetcher
from services.distribute.models import metadata, tables
from services.distribute.pagetags import warm_up_keywords
from services.distribute.reads import FeedCache
from services.distribute.routes import router
from services.distribute.seed import seed_demo_sites
from services.distribute.settings import DistributeSettings
from services.distribute.upkeep import upkeep_job
from services.distribute.webhook_endpoints import seal_plain_secrets


def create_app(
    settings: DistributeSettings | None = None,
    ingest_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`ingest_transport` lets tests stand in for ingest's version API."""
    settings = settings or DistributeSettings()
    doorbell = Doorbell()
    fetcher = VersionFetcher(
        settings.ingest_url, settings.internal_secret, transport=ingest_transport
    )

    async def prepare(app: FastAPI) -> None:
        app.state.feed_cache = FeedCache.empty()
        app.state.fetcher = fetcher
        app.state.doorbell = doorbell
        async with app.state.db.sessions() as session:
            if settings.seed_demo:
                await seed_demo_sites(session)
            await seal_plain_secrets(session, SecretBox.from_settings(settings))
            await session.commit()
        if settings.process_role in ("worker", "all"):
            await asyncio.to_thread(warm_up_keywords)  # keeps jieba's load off the first item

    spec = ServiceSpec(
        name="distribute",
        title="Central kitchen — distribute (sites, deliveries, feeds, webhooks)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=[router, admin_router],
        handlers=build_handlers(fetcher, doorbell),
        jobs=[webhook_job(settings, doorbell), upkeep_job(fetcher, settings.upkeep_seconds)],
        on_startup=[prepare],
    )
    return create_service_app(spec)
