"""Composition root of the review service (`uvicorn services.review.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from common.jobs import JobRun, run_once
from common.service_app import ServiceSpec, create_service_app
from services.review.checking import MachineChecks
from services.review.checks import words
from services.review.clients.links import link_checker
from services.review.consumers import handlers
from services.review.deps import build_deps
from services.review.jobs import jobs
from services.review.models import metadata, tables
from services.review.routes import routers
from services.review.seed import seed_lexicons
from services.review.settings import ReviewSettings


def create_app(
    settings: ReviewSettings | None = None, checks: MachineChecks | None = None
) -> FastAPI:
    """The review app; `checks` lets tests swap the link checker's HTTP transport."""
    settings = settings or ReviewSettings()
    deps = build_deps(settings, checks)

    async def seed(run: JobRun) -> int:
        return await seed_lexicons(run.session)

    owned_client = deps.checks.links is None  # a checker handed in is the caller's to close

    async def on_start(app: FastAPI) -> None:
        # The HTTP client is created in the lifespan, not at import or factory time.
        if owned_client:
            deps.checks.links = link_checker(settings)
        # jieba's dictionary (short-term word boundaries) loads here, not in the first check.
        await asyncio.to_thread(words.tokenizer)
        if settings.seed_lexicons:
            await run_once(app.state.db, seed)

    async def on_stop(app: FastAPI) -> None:
        if owned_client and deps.checks.links is not None:
            await deps.checks.aclose()
            deps.checks.links = None

    spec = ServiceSpec(
        name="review",
        title="Central kitchen — review (先审后发)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=routers,
        handlers=handlers(deps),
        jobs=jobs(deps),
        on_startup=[on_start],
        on_shutdown=[on_stop],
    )
    app = create_service_app(spec)
    app.state.deps = deps
    return app
