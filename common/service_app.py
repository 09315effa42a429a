"""Builds every service's FastAPI app the same way: one composition root per service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData

from common.consumer import Handler
from common.db import Database
from common.errors import BodyLimitMiddleware, install_problem_handlers
from common.jobs import Job
from common.logs import configure_logging
from common.messaging import MessagingTables
from common.migrations import upgrade_to_head
from common.observability import RequestContextMiddleware, health_router
from common.settings import ServiceSettings
from common.worker import PeriodicJob, ServiceWorker

StartupHook = Callable[[FastAPI], Awaitable[None]]


@dataclass
class ServiceSpec:
    """Everything that differs between services; the rest is built identically."""

    name: str
    title: str
    settings: ServiceSettings
    metadata: MetaData
    tables: MessagingTables
    migrations_dir: Path
    routers: list[APIRouter]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    jobs: list[Job | PeriodicJob] = field(default_factory=list)
    on_startup: list[StartupHook] = field(default_factory=list)


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(spec.name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url_for(spec.name))
        app.state.db = database
        await upgrade_to_head(database, spec.migrations_dir)
        for hook in spec.on_startup:
            await hook(app)
        worker = None
        if settings.process_role in ("worker", "all"):
            worker = ServiceWorker(
                spec.name, settings, database, spec.tables, spec.handlers, spec.jobs
            )
            app.state.worker = worker
            await worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await database.dispose()

    app = FastAPI(title=spec.title, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.spec = spec
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)  # outermost: sees every answer, crashes too
    app.include_router(health_router)
    if settings.process_role in ("api", "all"):
        for router in spec.routers:
            app.include_router(router)
    return app
