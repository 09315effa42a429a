"""Composition root of distribute (`uvicorn services.distribute.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from common.jobs import JobRun, run_once
from common.service_app import ServiceSpec, create_service_app
from services.distribute.account_registry import reseal_credentials
from services.distribute.clients.ingest import VersionFetcher
from services.distribute.clients.wechat import wechat_adapter
from services.distribute.clients.weibo import weibo_adapter
from services.distribute.consumers import handlers
from services.distribute.deps import Deps
from services.distribute.jobs import jobs
from services.distribute.models import metadata, tables
from services.distribute.page_cache import PageCache
from services.distribute.pagetags import warm_up_keywords
from services.distribute.routes import routers
from services.distribute.seed import seed_demo_accounts, seed_demo_sites
from services.distribute.settings import DistributeSettings
from services.distribute.webhook_endpoints import seal_plain_secrets


def create_app(
    settings: DistributeSettings | None = None,
    ingest_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`ingest_transport` lets tests stand in for ingest's version API."""
    settings = settings or DistributeSettings()
    fetcher = VersionFetcher(
        settings.ingest_url, settings.internal_secret, transport=ingest_transport
    )
    deps = Deps(
        settings=settings,
        fetcher=fetcher,
        channel_factories={"wechat": wechat_adapter, "weibo": weibo_adapter},
    )

    async def prepare(app: FastAPI) -> None:
        app.state.deps = deps
        app.state.pages = PageCache(
            app.state.db, settings.page_recheck_seconds, settings.page_cache_mb * 2**20
        )
        app.state.pages.watch_commits()  # this process's own publications show at once

        async def start(run: JobRun) -> None:
            if settings.seed_demo:
                await seed_demo_sites(run.session)
                await seed_demo_accounts(run.session, deps.box, settings.demo_channel_accounts)
            await seal_plain_secrets(run.session, deps.box)
            await reseal_credentials(run.session, deps.box)

        await run_once(app.state.db, start)
        if settings.process_role in ("worker", "all"):
            await asyncio.to_thread(warm_up_keywords)  # keeps jieba's load off the first item

    async def stop(app: FastAPI) -> None:
        app.state.pages.stop_watching()
        await deps.channels.aclose()  # the adapters' HTTP clients (made on first use)
        await fetcher.close()

    spec = ServiceSpec(
        name="distribute",
        title="Central kitchen — distribute (sites, deliveries, feeds, webhooks)",
        settings=settings,
        metadata=metadata,
        tables=tables,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=routers,
        handlers=handlers(deps),
        jobs=jobs(deps),
        on_startup=[prepare],
        on_shutdown=[stop],
    )
    return create_service_app(spec)
