"""Builds every service's FastAPI app the same way: one composition root per service.

The gateway is built here too: it has no messaging tables (no outbox, no consumer, no worker),
its own documentation URLs, an extra outermost middleware, a static mount and shutdown hooks.
Every such field is optional, and its default is what the four services use.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import MetaData
from starlette.middleware import Middleware
from starlette.routing import Mount

from common.consumer import Handler
from common.db import Database
from common.errors import BodyLimitMiddleware, install_problem_handlers
from common.jobs import Job
from common.logs import configure_logging
from common.messaging import MessagingTables
from common.migrations import one_starting_at_a_time, upgrade_to_head
from common.observability import RequestContextMiddleware, health_router
from common.settings import ServiceSettings
from common.worker import ServiceWorker

# What FastAPI's OpenTelemetry hooks get unless `settings.opentelemetry` is on: none of them runs
TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

_startup_frozen = False  # see freeze_startup_objects


def freeze_startup_objects() -> None:
    """Move everything the process holds after its first start-up into the permanent
    generation, garbage collected first.

    A full collection walks every tracked object: about 150,000 once a service has started, 70 to
    80 ms on the gateway, while every request in flight waits (a portal read's p99). Frozen
    objects are skipped, so a full collection walks only what was made since (about 1 ms).
    Once per process: an app started later in the same process (tests start hundreds) keeps
    its objects collectable.
    """
    global _startup_frozen
    if _startup_frozen:
        return
    _startup_frozen = True
    gc.collect()
    gc.freeze()


StartupHook = Callable[[FastAPI], Awaitable[None]]
ShutdownHook = Callable[[FastAPI], Awaitable[None]]


@dataclass
class ServiceSpec:
    """Everything that differs between services; the rest is built identically."""

    name: str
    title: str
    settings: ServiceSettings
    metadata: MetaData
    tables: MessagingTables | None  # None: no outbox or inbox, so no worker either
    migrations_dir: Path
    routers: list[APIRouter]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    jobs: Sequence[Job] = ()
    on_startup: list[StartupHook] = field(default_factory=list)
    # Run at shutdown in reverse order, after the worker stopped, before the database closes.
    on_shutdown: list[ShutdownHook] = field(default_factory=list)
    docs_url: str | None = "/docs"
    redoc_url: str | None = "/redoc"
    openapi_url: str | None = "/openapi.json"
    # Added around RequestContextMiddleware, the first of the list outermost: they see (and may
    # edit) every answer, the 500 of a crash included.
    outer_middleware: list[Middleware] = field(default_factory=list)
    # Added inside RequestContextMiddleware and the body limit, before FastAPI's own: they may
    # answer a request without routing it (the gateway's microcache lane).
    inner_middleware: list[Middleware] = field(default_factory=list)
    # Registered before every router, so a catch-all route cannot shadow them (with the API:
    # not in a worker-only process).
    mounts: list[Mount] = field(default_factory=list)


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(spec.name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            settings.database_url_for(spec.name),
            settings.database_pool_size,
            settings.database_max_overflow,
        )
        app.state.db = database
        async with one_starting_at_a_time(database):
            await upgrade_to_head(database, spec.migrations_dir)
            for hook in spec.on_startup:
                await hook(app)
        worker = None
        if spec.tables is not None and settings.process_role in ("worker", "all"):
            worker = ServiceWorker(
                spec.name, settings, database, spec.tables, spec.handlers, spec.jobs
            )
            app.state.worker = worker
            await worker.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            for hook in reversed(spec.on_shutdown):
                await hook(app)
            await database.dispose()

    app = FastAPI(
        title=spec.title,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=spec.docs_url,
        redoc_url=spec.redoc_url,
        openapi_url=spec.openapi_url,
        telemetry=None if settings.opentelemetry else TELEMETRY_OFF,
    )
    app.state.settings = settings
    app.state.spec = spec
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)  # sees every answer, crashes too
    app.user_middleware.extend(spec.inner_middleware)  # the list runs outermost first
    for middleware in reversed(spec.outer_middleware):  # add_middleware wraps: last is outermost
        app.user_middleware.insert(0, middleware)
    app.include_router(health_router)
    if settings.process_role in ("api", "all"):
        app.router.routes.extend(spec.mounts)
        for router in spec.routers:
            app.include_router(router)
    return app
