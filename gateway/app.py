"""Composition root of the gateway (`uvicorn gateway.app:create_app --factory`).

Built like every service by `common.service_app`, without messaging tables (the gateway
publishes and consumes nothing, so it has no worker), with its own document at
`/openapi-gateway.json` (the merged one is `/openapi.json`, Swagger UI `/docs`), the security
headers outermost, and the staff console mounted before the catch-all proxy.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware
from starlette.routing import Mount

from common.jobs import JobRun, run_once
from common.service_app import ServiceSpec, create_service_app
from gateway import models
from gateway.adapters.microcache_lane import MicrocacheLane
from gateway.adapters.security_headers import SecurityHeadersMiddleware
from gateway.consumers import handlers
from gateway.deps import Deps
from gateway.jobs import jobs
from gateway.routes import routers
from gateway.service import seed_demo_users
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
CONSOLE = Path(__file__).parent / "console"


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    deps = Deps.of(settings)

    async def seed_demo(app: FastAPI) -> None:
        if not settings.demo:
            return

        async def seed(run: JobRun) -> int:
            return await seed_demo_users(run.session, settings.demo_password)

        created = await run_once(app.state.db, seed)
        log.info("demo users ready (%d created)", created)

    async def close_upstreams(app: FastAPI) -> None:
        await deps.upstreams.close()

    spec = ServiceSpec(
        name="gateway",
        title="信息中央厨房 — Central kitchen API",
        settings=settings,
        metadata=models.metadata,
        tables=None,
        migrations_dir=MIGRATIONS,
        routers=routers,
        handlers=handlers(deps),
        jobs=jobs(deps),
        on_startup=[seed_demo],
        on_shutdown=[close_upstreams],
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi-gateway.json",
        # outermost, so its headers are also on the 500 that RequestContextMiddleware answers
        outer_middleware=[
            Middleware(SecurityHeadersMiddleware, production=settings.environment == "production")
        ],
        inner_middleware=[
            Middleware(
                MicrocacheLane,
                cache=deps.microcache,
                limiter=deps.limiter,
                upstreams=deps.upstreams,
            )
        ],
        mounts=[Mount("/console", StaticFiles(directory=CONSOLE, html=True), name="console")],
    )
    app = create_service_app(spec)
    app.state.deps = deps
    app.state.upstreams = deps.upstreams
    app.state.limiter = deps.limiter
    return app
