"""Upkeep: finish releases that waited for their text, re-render pages after site edits.

Both are job steps (`services.distribute.jobs`): they work in the session they are given and
the job runner commits.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import ServiceUnavailable
from common.events import utcnow
from services.distribute.library import VersionSource, load_snapshot
from services.distribute.portal import rerender, stale_articles
from services.distribute.publishing import proceed, waiting_releases

RERENDER_BATCH = 200


async def resume_waiting(session: AsyncSession, fetcher: VersionSource) -> int:
    """Fetch each version still awaited from ingest and deliver it; returns how many moved."""
    moved = 0
    for release in await waiting_releases(session):
        try:
            snapshot = await load_snapshot(session, fetcher, release.content_id, release.version)
        except ServiceUnavailable as error:
            release.detail = error.detail[:500]
            session.add(release)
            continue
        await proceed(session, release, snapshot)
        moved += 1
    return moved


async def rerender_stale(session: AsyncSession, batch: int = RERENDER_BATCH) -> int:
    """Re-render one batch of pages whose site or columns changed; returns how many."""
    articles = await stale_articles(session, batch)
    now = utcnow()
    for article in articles:
        await rerender(session, article, now)
    return len(articles)
