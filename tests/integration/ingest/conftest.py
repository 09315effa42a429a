"""An ingest app on a throwaway database, with the site directory answered locally."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from common.testing import answers_its_model
from services.ingest.app import create_app
from services.ingest.clients.sites import SiteCatalog
from services.ingest.routes import routers
from services.ingest.settings import IngestSettings

SITE_COLUMNS = {"province": ["news", "notices", "policies", "interpretations"]}


def site_directory(request: httpx.Request) -> httpx.Response:
    """Stands in for distribute's `GET /api/v1/sites/{site}/columns`."""
    site = request.url.path.split("/")[4]
    if site not in SITE_COLUMNS:
        return httpx.Response(404, json={"status": 404})
    return httpx.Response(200, json={"items": [{"slug": c} for c in SITE_COLUMNS[site]]})


@pytest.fixture
async def ingest_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # the crawl tests' site runs on this machine
    settings = IngestSettings(
        database_url=database_url, process_role="api", outbound_allow=["127.0.0.1"]
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        directory = httpx.AsyncClient(
            transport=httpx.MockTransport(site_directory), base_url="http://distribute"
        )
        app.state.deps.sites = SiteCatalog(directory, ttl_seconds=60)
        transport = httpx.ASGITransport(app=manager.app)
        hooks = {"response": [answers_its_model(routers)]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ingest", event_hooks=hooks
        ) as client:
            client.app = app  # type: ignore[attr-defined]  # for tests that drive jobs directly
            yield client
