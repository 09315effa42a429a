"""Composition root of the review service (`uvicorn services.review.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI

from common.db import Database
from common.events import utcnow
from common.idempotency import IdempotencyStore
from common.outbound import OutboundPolicy, outbound_client
from common.service_app import ServiceSpec, create_service_app
from services.review import linkcheck
from services.review.checking import MachineChecks
from services.review.checks import words
from services.review.checks.links import LinkChecker
from services.review.consumers import build_handlers
from services.review.models import idempotency_records, metadata, tables
from services.review.queue import send_reminders
from services.review.routes import admin_router, checks_router, router
from services.review.seed import seed_lexicons
from services.review.settings import ReviewSettings

log = logging.getLogger(__name__)


def link_checker(settings: ReviewSettings) -> LinkChecker | None:
    if not settings.link_check_enabled:
        return None
    client = outbound_client(
        OutboundPolicy.from_settings(settings), headers={"user-agent": "kitchen-review-linkcheck/1"}
    )
    return LinkChecker(
        client, settings.link_concurrency, settings.link_timeout_seconds,
        settings.link_cache_seconds,
    )  # fmt: skip


def reminder_job(settings: ReviewSettings):  # type: ignore[no-untyped-def]
    async def run(database: Database) -> None:
        while True:
            try:
                async with database.sessions() as session:
                    await send_reminders(session, utcnow())
                    await session.commit()
            except Exception:  # the job must outlive a transient database error
                log.exception("review reminders failed")
            await asyncio.sleep(settings.reminder_interval_seconds)

    return run


def link_check_job(settings: ReviewSettings, checks: MachineChecks):  # type: ignore[no-untyped-def]
    async def run(database: Database) -> None:
        while True:
            try:
                taken = await linkcheck.run_pending(
                    database, checks, settings.link_job_batch, settings.link_job_max_attempts
                )
            except Exception:  # the job must outlive a transient database error
                log.exception("review link checks failed")
                taken = 0
            if taken < settings.link_job_batch:  # a full batch means more may be waiting
                await asyncio.sleep(settings.link_job_interval_seconds)

    return run


def create_app(
    settings: ReviewSettings | None = None, checks: MachineChecks | None = None
) -> FastAPI:
    """The review app; `checks` lets tests swap the link checker's HTTP transport."""
    settings = settings or ReviewSettings()
    checks = checks or MachineChecks(settings.link_allowlist, links=None)

    async def on_start(app: FastAPI) -> None:
        # The HTTP client is created in the lifespan, not at import or factory time.
        if checks.links is None:
            checks.links = link_checker(settings)
        app.state.checks = checks
        app.state.idempotency = IdempotencyStore(
            idempotency_records, settings.idempotency_wait_seconds,
            settings.idempotency_stale_seconds,
        )  # fmt: skip
        # jieba's dictionary (short-term word boundaries) loads here, not in the first check.
        await asyncio.to_thread(words.tokenizer)
        async with app.state.db.sessions() as session:
            if settings.seed_lexicons:
                await seed_lexicons(session)
            await session.commit()

    spec = ServiceSpec(
        name="review",
        title="Central kitchen — review (先审后发)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=[router, admin_router, checks_router],
        handlers=build_handlers(checks),
        jobs=[reminder_job(settings), link_check_job(settings, checks)],
        on_startup=[on_start],
    )
    return create_service_app(spec)
