"""`/api/v1/sources*` (crawl and feed sources) and `/api/v1/crawls*` (runs and their progress)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.pagination import MAX_LIMIT, Page
from common.responses import json_response
from services.ingest import sources
from services.ingest.routes.dependencies import CRAWL_STAFF, CrawlStaffDep, DepsDep
from services.ingest.schemas import CrawlRunPublic, CrawlSourcePublic, SourceIn

router = APIRouter(prefix="/api/v1", tags=["crawling"])


@router.post("/sources", status_code=201, response_model=CrawlSourcePublic)
async def create_source(
    body: SourceIn, session: SessionDep, actor: ActorDep, deps: DepsDep
) -> Response:
    """Register a site to crawl or a feed to pull, on a schedule and on demand."""
    actor.require_role("admin")  # after the body is validated, as it always was
    return json_response(await sources.create_source(session, deps, body, actor), status_code=201)


@router.get("/sources", response_model=Page[CrawlSourcePublic])
async def list_sources(session: SessionDep, actor: CrawlStaffDep) -> Response:
    """Every crawl and feed source."""
    return json_response(await sources.list_sources(session))


@router.get("/sources/{source_id}", response_model=CrawlSourcePublic)
async def get_source(source_id: str, session: SessionDep, actor: CrawlStaffDep) -> Response:
    """One source."""
    return json_response(await sources.get_source(session, source_id))


@router.post("/sources/{source_id}/crawls", status_code=202, response_model=CrawlRunPublic)
async def start_crawl(source_id: str, session: SessionDep, actor: CrawlStaffDep) -> Response:
    """Crawl now: queues a run that the worker picks up; follow it at /api/v1/crawls/{id}."""
    run = await sources.start_crawl(session, source_id, actor)
    return json_response(run, status_code=202, headers={"Location": f"/api/v1/crawls/{run['id']}"})


@router.get("/crawls", response_model=Page[CrawlRunPublic])
async def list_crawls(
    session: SessionDep,
    actor: ActorDep,
    source_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """Recent runs, newest first."""
    actor.require_role(*CRAWL_STAFF)  # after the query is validated, as it always was
    return json_response(await sources.list_crawls(session, source_id, limit))


@router.get("/crawls/{run_id}", response_model=CrawlRunPublic)
async def get_crawl(run_id: str, session: SessionDep, actor: CrawlStaffDep) -> Response:
    """A run's status and progress: discovered, added, merged, changed, unchanged, failed."""
    return json_response(await sources.get_crawl(session, run_id))
