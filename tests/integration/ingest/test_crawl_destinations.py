"""The crawler cannot be pointed inside: a source on a loopback/private address, or on a name
resolving there, is refused at registration (422) and, should it resolve inside only later,
fails with the reason recorded, and nothing is fetched."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from common.db import Database
from services.ingest.settings import IngestSettings
from tests.integration.ingest.helpers import ADMIN, EDITOR, run_pending
from tests.integration.ingest.site import serve_site


def resolve_as(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Make the system resolver answer `names` (host → address), as a hostile DNS would."""
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


async def crawl_with(
    client: httpx.AsyncClient, database_url: str, start: str, settings: IngestSettings
) -> dict[str, Any]:
    source = {
        "name": "内部网站",
        "start_urls": [start],
        "article_pattern": r"/art/",
        "site": "province",
        "columns": ["news"],
        "publisher": "办公厅",
        "delay_seconds": 0,
    }
    created = await client.post("/api/v1/sources", json=source, headers=ADMIN)
    assert created.status_code == 201, created.text
    started = await client.post(f"/api/v1/sources/{created.json()['id']}/crawls", headers=EDITOR)
    database = Database(database_url)
    try:
        await run_pending(database, settings)
    finally:
        await database.dispose()
    run = await client.get(f"/api/v1/crawls/{started.json()['id']}", headers=EDITOR)
    return run.json()  # type: ignore[no-any-return]


async def test_a_source_inside_is_refused_with_the_reason(
    ingest_client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_as(monkeypatch, {"www.jinzhong.gov.cn": "127.0.0.1"})
    strict = IngestSettings(database_url=database_url, crawl_timeout_seconds=2.5)
    with serve_site() as (base, state):
        port = base.rsplit(":", 1)[1]
        for start, host in (
            (f"{base}/list.html", "127.0.0.1"),
            (f"http://www.jinzhong.gov.cn:{port}/list.html", "www.jinzhong.gov.cn"),
        ):
            run = await crawl_with(ingest_client, database_url, start, strict)
            assert run["status"] == "done" and run["counters"]["failed"] == 1, run
            [error] = run["errors"]
            assert error["url"] == start
            assert error["reason"] == f"start page: destination not allowed: {host}"
        assert state.requests == []  # not even robots.txt
        allowed = strict.model_copy(update={"outbound_allow": ["127.0.0.1"]})
        run = await crawl_with(ingest_client, database_url, f"{base}/list.html", allowed)
        assert run["counters"]["added"] == 3, run  # the same site, allow-listed


async def test_a_source_inside_is_refused_at_registration(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asgi_lifespan import LifespanManager

    from services.ingest.app import create_app
    from services.ingest.clients.sites import SiteCatalog
    from tests.integration.ingest.conftest import site_directory

    resolve_as(monkeypatch, {"www.jinzhong.gov.cn": "10.0.0.9"})
    app = create_app(IngestSettings(database_url=database_url, process_role="api"))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        directory = httpx.AsyncClient(
            transport=httpx.MockTransport(site_directory), base_url="http://distribute"
        )
        app.state.deps.sites = SiteCatalog(directory, ttl_seconds=60)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            body = {
                "name": "内部网站",
                "site": "province",
                "columns": ["news"],
                "publisher": "办公厅",
            }
            for start in (
                "http://127.0.0.1:8101/api/v1/contents",
                "http://169.254.169.254/latest/meta-data/",
                "http://www.jinzhong.gov.cn/list.html",
            ):
                urls = ["https://www.unresolvable.example/list.html", start]
                response = await client.post(
                    "/api/v1/sources", json={**body, "start_urls": urls}, headers=ADMIN
                )
                assert response.status_code == 422, response.text
                assert [e["field"] for e in response.json()["errors"]] == ["start_urls[1]"]
            listed = await client.get("/api/v1/sources", headers=ADMIN)
            assert listed.json()["items"] == []
