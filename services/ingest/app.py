"""Composition root of the ingest service (`uvicorn services.ingest.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from common.chinese import warm_up
from common.jobs import JobRun, run_once
from common.service_app import ServiceSpec, create_service_app
from services.ingest import models_intake  # noqa: F401  (tables on the shared metadata)
from services.ingest.consumers import handlers
from services.ingest.deps import Deps
from services.ingest.jobs import jobs
from services.ingest.models import metadata, tables
from services.ingest.routes import routers
from services.ingest.schemas import ContentSubmission
from services.ingest.settings import IngestSettings
from services.ingest.webhooks import seal_legacy_secrets


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    deps = Deps.from_settings(settings)

    async def load_chinese_tools(app: FastAPI) -> None:
        # jieba and OpenCC load once per process, at start, not on the first request.
        await asyncio.to_thread(warm_up)

    async def seal_legacy_webhook_secrets(app: FastAPI) -> None:
        async def work(run: JobRun) -> int:
            return await seal_legacy_secrets(run.session, deps.secrets)

        await run_once(app.state.db, work)

    async def close_clients(app: FastAPI) -> None:
        await app.state.deps.sites.close()  # the deps tests swapped in, if they did

    spec = ServiceSpec(
        name="ingest",
        title="Central kitchen — ingest (resource library)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=routers,
        handlers=handlers(deps),
        jobs=jobs(deps),
        on_startup=[load_chinese_tools, seal_legacy_webhook_secrets],
        on_shutdown=[close_clients],
    )
    app = create_service_app(spec)
    app.state.deps = deps
    return document_read_bodies(app)


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
