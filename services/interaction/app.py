"""Composition root of the interaction service (`create_app --factory`, port 8104)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from common.jobs import JobRun, run_once
from common.service_app import ServiceSpec, create_service_app
from services.interaction.calendar_store import CalendarCache, seed_calendar
from services.interaction.clock import Clock, SystemClock
from services.interaction.consumers import handlers
from services.interaction.deps import Deps
from services.interaction.jobs import jobs
from services.interaction.models import metadata, tables
from services.interaction.routes import routers
from services.interaction.settings import InteractionSettings

PORT = 8104


def create_app(settings: InteractionSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or InteractionSettings()
    deps = Deps(settings, clock or SystemClock(), CalendarCache(settings.calendar_refresh_seconds))

    async def seed(app: FastAPI) -> None:
        async def work(run: JobRun) -> int:
            return await seed_calendar(
                run.session, settings.provisional_until_year, deps.clock.now()
            )

        await run_once(app.state.db, work)

    spec = ServiceSpec(
        name="interaction",
        title="Central kitchen — interaction (互动交流)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=routers,
        handlers=handlers(deps),
        jobs=jobs(deps),
        on_startup=[seed],
    )
    app = create_service_app(spec)
    app.state.deps = deps
    return app
