"""Composition root of the interaction service (`create_app --factory`, port 8104)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from common.service_app import ServiceSpec, create_service_app
from services.interaction.calendar_store import CalendarCache, seed_calendar
from services.interaction.clock import Clock, SystemClock
from services.interaction.consumers import HANDLERS
from services.interaction.models import metadata, tables
from services.interaction.route_table import routers
from services.interaction.scheduler import deadline_job
from services.interaction.settings import InteractionSettings

PORT = 8104


def create_app(settings: InteractionSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or InteractionSettings()
    clock = clock or SystemClock()
    cache = CalendarCache(settings.calendar_refresh_seconds)

    async def seed(app: FastAPI) -> None:
        async with app.state.db.sessions() as session:
            await seed_calendar(session, settings.provisional_until_year, clock.now())
            await session.commit()
        app.state.clock = clock
        app.state.calendar = cache

    spec = ServiceSpec(
        name="interaction",
        title="Central kitchen — interaction (互动交流)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=routers,
        handlers=HANDLERS,
        jobs=[deadline_job(clock, settings, cache)],
        on_startup=[seed],
    )
    return create_service_app(spec)
