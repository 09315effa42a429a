"""`/api/v1/sources*` (crawl and feed sources) and `/api/v1/crawls*` (runs and their progress)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from sqlalchemy import select

from common.db import SessionDep
from common.errors import NotFound, Unprocessable
from common.events import utcnow
from common.identity import ActorDep
from common.outbound import DestinationRefused, OutboundPolicy
from common.pagination import MAX_LIMIT
from common.responses import json_response
from services.ingest import audit, pipeline
from services.ingest.crawler.run import new_run
from services.ingest.models_intake import CrawlRun, CrawlSource
from services.ingest.schemas import SLUG_PATTERN, ContentKind

router = APIRouter(prefix="/api/v1", tags=["crawling"])


class SourceIn(BaseModel):
    """A subordinate site (list pages or a sitemap + article-link pattern) or an RSS/Atom feed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["site", "feed"] = "site"
    start_urls: list[HttpUrl] = Field(min_length=1, max_length=20)
    article_pattern: str | None = Field(default=None, max_length=300)
    site: str = Field(pattern=SLUG_PATTERN)
    columns: list[str] = Field(min_length=1, max_length=20)
    publisher: str = Field(min_length=1, max_length=200)
    content_kind: ContentKind = "news"
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    max_pages: int = Field(default=200, ge=1, le=5000)
    delay_seconds: float = Field(default=1.0, ge=0, le=60)
    concurrency: int = Field(default=2, ge=1, le=8)
    enabled: bool = True

    @field_validator("article_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


def source_out(source: CrawlSource) -> dict[str, object]:
    return source.model_dump(mode="json")


def run_out(run: CrawlRun) -> dict[str, object]:
    return run.model_dump(mode="json")


@router.post("/sources", status_code=201)
async def create_source(
    body: SourceIn, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Register a site to crawl or a feed to pull, on a schedule and on demand."""
    actor.require_role("admin")
    await request.app.state.sites.require_targets(body.site, body.columns)
    policy = OutboundPolicy.from_settings(request.app.state.settings)
    for index, url in enumerate(body.start_urls):  # checked again at every fetch
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
    return json_response(out, status_code=201)


@router.get("/sources")
async def list_sources(session: SessionDep, actor: ActorDep) -> Response:
    """Every crawl and feed source."""
    actor.require_role("admin", "editor")
    rows = await session.execute(select(CrawlSource).order_by(CrawlSource.created_at))
    return json_response({"items": [source_out(s) for s in rows.scalars()], "next_cursor": None})


@router.get("/sources/{source_id}")
async def get_source(source_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """One source."""
    actor.require_role("admin", "editor")
    source = await session.get(CrawlSource, source_id)
    if source is None:
        raise NotFound("no such source", field="source_id")
    return json_response(source_out(source))


@router.post("/sources/{source_id}/crawls", status_code=202)
async def start_crawl(source_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """Crawl now: queues a run that the worker picks up; follow it at /api/v1/crawls/{id}."""
    actor.require_role("admin", "editor")
    if await session.get(CrawlSource, source_id) is None:
        raise NotFound("no such source", field="source_id")
    run = new_run(source_id, "manual")
    session.add(run)
    await audit.record(session, actor.id, "crawl.started", f"source:{source_id}", {"run": run.id})
    return json_response(
        run_out(run), status_code=202, headers={"Location": f"/api/v1/crawls/{run.id}"}
    )


@router.get("/crawls")
async def list_crawls(
    session: SessionDep,
    actor: ActorDep,
    source_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """Recent runs, newest first."""
    actor.require_role("admin", "editor")
    query = select(CrawlRun).order_by(CrawlRun.created_at.desc()).limit(limit)
    if source_id:
        query = query.where(CrawlRun.source_id == source_id)
    rows = await session.execute(query)
    return json_response({"items": [run_out(r) for r in rows.scalars()], "next_cursor": None})


@router.get("/crawls/{run_id}")
async def get_crawl(run_id: str, session: SessionDep, actor: ActorDep) -> Response:
    """A run's status and progress: discovered, added, merged, changed, unchanged, failed."""
    actor.require_role("admin", "editor")
    run = await session.get(CrawlRun, run_id)
    if run is None:
        raise NotFound("no such crawl run", field="run_id")
    return json_response(run_out(run))
