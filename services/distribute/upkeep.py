"""Upkeep: finish releases that waited for their text, re-render pages after site edits."""

from __future__ import annotations

import asyncio
import logging

from common.db import Database
from common.errors import ServiceUnavailable
from common.events import utcnow
from common.worker import PeriodicJob
from services.distribute.library import VersionFetcher, load_snapshot
from services.distribute.portal import rerender, stale_articles
from services.distribute.publishing import proceed, waiting_releases

log = logging.getLogger(__name__)
RERENDER_BATCH = 200


async def resume_waiting(database: Database, fetcher: VersionFetcher) -> int:
    """Fetch each version still awaited from ingest and deliver it; returns how many moved."""
    moved = 0
    async with database.sessions() as session:
        for release in await waiting_releases(session):
            try:
                snapshot = await load_snapshot(
                    session, fetcher, release.content_id, release.version
                )
            except ServiceUnavailable as error:
                release.detail = error.detail[:500]
                session.add(release)
                continue
            await proceed(session, release, snapshot)
            moved += 1
        await session.commit()
    return moved


async def rerender_stale(database: Database, batch: int = RERENDER_BATCH) -> int:
    """Re-render one batch of pages whose site or columns changed; returns how many."""
    async with database.sessions() as session:
        articles = await stale_articles(session, batch)
        now = utcnow()
        for article in articles:
            await rerender(session, article, now)
        await session.commit()
    return len(articles)


def upkeep_job(fetcher: VersionFetcher, interval: float) -> PeriodicJob:
    """The `ServiceSpec.jobs` entry: both passes every `interval` seconds (sooner while a
    re-render backlog remains)."""

    async def job(database: Database) -> None:
        while True:
            backlog = 0
            try:
                await resume_waiting(database, fetcher)
                backlog = await rerender_stale(database)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("upkeep pass failed")
            await asyncio.sleep(0 if backlog >= RERENDER_BATCH else interval)

    return job
