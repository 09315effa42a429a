"""The job that finishes releases left waiting for their text when ingest could not be asked."""

from __future__ import annotations

import asyncio
import logging

from common.db import Database
from common.errors import ServiceUnavailable
from services.distribute.library import VersionFetcher, load_snapshot
from services.distribute.publishing import proceed, waiting_releases

log = logging.getLogger(__name__)


async def resume_waiting(database: Database, fetcher: VersionFetcher) -> int:
    """One pass: fetch each waiting version from ingest and deliver it; returns how many moved."""
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


def waiting_job(fetcher: VersionFetcher, interval: float):  # type: ignore[no-untyped-def]
    """The `ServiceSpec.jobs` entry."""

    async def job(database: Database) -> None:
        while True:
            try:
                await resume_waiting(database, fetcher)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("resuming waiting releases failed")
            await asyncio.sleep(interval)

    return job
