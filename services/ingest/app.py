"""Composition root of the ingest service (`uvicorn services.ingest.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from common.service_app import ServiceSpec, create_service_app
from services.ingest import models_intake  # noqa: F401  (tables on the shared metadata)
from services.ingest.chinese import warm_up
from services.ingest.consumers import handlers
from services.ingest.crawler.run import scheduler
from services.ingest.models import metadata, tables
from services.ingest.routes import router
from services.ingest.schemas import ContentSubmission
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
    return document_read_bodies(create_service_app(spec))


def document_read_bodies(app: FastAPI) -> FastAPI:
    """Put `ContentSubmission` into the OpenAPI components: `POST /api/v1/contents` reads its body
    itself (JSON or multipart), so FastAPI never sees the model its `openapi_extra` refers to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _, defs = models_json_schema(
                [(ContentSubmission, "validation")], ref_template="#/components/schemas/{model}"
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in defs.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
