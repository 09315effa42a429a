"""Composition root of the gateway (`uvicorn gateway.app:create_app --factory`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from common.db import Database
from common.errors import BodyLimitMiddleware, install_problem_handlers
from common.logs import configure_logging
from common.migrations import upgrade_to_head
from common.observability import RequestContextMiddleware, health_router
from gateway.proxy import Upstreams
from gateway.ratelimit import WindowLimiter
from gateway.routes import docs_router, proxy_router, router
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.service import seed_demo_users
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
CONSOLE = Path(__file__).parent / "console"


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url_for("gateway"))
        app.state.db = database
        await upgrade_to_head(database, MIGRATIONS)
        if settings.demo:
            async with database.sessions() as session:
                created = await seed_demo_users(session, settings.demo_password)
                await session.commit()
            log.info("demo users ready (%d created)", created)
        app.state.upstreams = Upstreams(
            settings.service_urls(), settings.upstream_timeout_seconds, settings.internal_secret
        )
        try:
            yield
        finally:
            await app.state.upstreams.close()
            await database.dispose()

    app = FastAPI(
        title="信息中央厨房 — Central kitchen API",
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi-gateway.json",
    )
    app.state.settings = settings
    app.state.limiter = WindowLimiter(settings.public_rate_per_minute)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)  # sees every answer, crashes too
    # outermost, so its headers are also on the 500 that RequestContextMiddleware answers
    app.add_middleware(SecurityHeadersMiddleware, production=settings.environment == "production")
    app.include_router(health_router)
    app.include_router(docs_router)
    app.include_router(router)
    app.mount("/console", StaticFiles(directory=CONSOLE, html=True), name="console")
    app.include_router(proxy_router)
    return app
