"""Crawl and feed sources, and their runs as the API shows them: registering a source (its start
URLs may not point inside the hub's network), queueing a run by hand, reading progress."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Unprocessable
from common.events import utcnow
from common.identity import Actor
from common.lookup import get_or_404
from common.outbound import DestinationRefused, OutboundPolicy
from services.ingest import audit, pipeline
from services.ingest.crawler.run import new_run
from services.ingest.deps import Deps
from services.ingest.models_intake import CrawlRun, CrawlSource
from services.ingest.schemas import SourceIn


def source_out(source: CrawlSource) -> dict[str, Any]:
    return source.model_dump(mode="json")


def run_out(run: CrawlRun) -> dict[str, Any]:
    return run.model_dump(mode="json")


async def create_source(
    session: AsyncSession, deps: Deps, body: SourceIn, actor: Actor
) -> dict[str, Any]:
    """Register a site to crawl or a feed to pull; its targets must exist and its start URLs
    must not point at loopback, private, link-local or metadata addresses (checked again at
    every fetch)."""
    await deps.sites.require_targets(body.site, body.columns)
    policy = OutboundPolicy.from_settings(deps.settings)
    for index, url in enumerate(body.start_urls):
        try:
            await policy.check_url(str(url))
        except DestinationRefused as error:
            raise Unprocessable(
                "the crawler may not fetch loopback, private, link-local or metadata addresses",
                field=f"start_urls[{index}]",
            ) from error
    source = CrawlSource(
        id=pipeline.new_id(),
        **body.model_dump(exclude={"start_urls"}),
        start_urls=[str(u) for u in body.start_urls],
        created_at=utcnow(),
    )
    session.add(source)
    out = source_out(source)
    await audit.record(session, actor.id, "source.created", f"source:{source.id}", out)
    return out


async def list_sources(session: AsyncSession) -> dict[str, Any]:
    """Every crawl and feed source, oldest first, as one page."""
    rows = await session.exec(select(CrawlSource).order_by(col(CrawlSource.created_at)))
    return {"items": [source_out(s) for s in rows], "next_cursor": None}


async def _source(session: AsyncSession, source_id: str) -> CrawlSource:
    return await get_or_404(
        session, CrawlSource, source_id, detail="no such source", field="source_id"
    )


async def get_source(session: AsyncSession, source_id: str) -> dict[str, Any]:
    return source_out(await _source(session, source_id))


async def start_crawl(session: AsyncSession, source_id: str, actor: Actor) -> dict[str, Any]:
    """Queue a manual run that the worker's crawl job picks up."""
    await _source(session, source_id)
    run = new_run(source_id, "manual")
    session.add(run)
    await audit.record(session, actor.id, "crawl.started", f"source:{source_id}", {"run": run.id})
    return run_out(run)


async def list_crawls(session: AsyncSession, source_id: str | None, limit: int) -> dict[str, Any]:
    """The `limit` most recent runs (of one source), newest first, as one page."""
    query = select(CrawlRun).order_by(col(CrawlRun.created_at).desc()).limit(limit)
    if source_id:
        query = query.where(col(CrawlRun.source_id) == source_id)
    rows = await session.exec(query)
    return {"items": [run_out(r) for r in rows], "next_cursor": None}


async def get_crawl(session: AsyncSession, run_id: str) -> dict[str, Any]:
    run = await get_or_404(session, CrawlRun, run_id, detail="no such crawl run", field="run_id")
    return run_out(run)
