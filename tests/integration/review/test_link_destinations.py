"""`POST /api/v1/checks` cannot be used to probe the hub's own network: links to loopback,
private or metadata addresses (directly, by a name resolving there, or by a redirect) are
reported as "目标地址不允许" without being fetched, whether or not anything listens there."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from common.testing import free_port
from services.review.app import create_app
from services.review.clients.links import REFUSED_DETAIL
from tests.integration.review.conftest import R1, make_settings
from tests.unit.common.test_outbound import local_server


def resolve_as(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Make the system resolver answer `names` (host → address), as a hostile DNS would."""
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@asynccontextmanager
async def review_client(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Review with its real link checker (the guarded client built from settings)."""
    app = create_app(make_settings(database_url, **overrides))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://review") as client:
            yield client


async def broken(client: httpx.AsyncClient, urls: list[str]) -> dict[str, str]:
    text = "相关链接：" + " ； ".join(urls) + " 。"
    draft = {"title": "通知", "body_text": text, "publisher": "办公厅", "check_links": True}
    response = await client.post("/api/v1/checks", json=draft, headers=R1)
    assert response.status_code == 200, response.text
    found = response.json()["findings"]
    return {f["text"]: f["suggestion"] for f in found if f["rule"] == "link.broken"}


async def test_inside_links_are_refused_without_revealing_reachability(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_as(monkeypatch, {"intranet.example.gov.cn": "127.0.0.1"})
    async with local_server() as server:
        listening = f"http://127.0.0.1:{server.port}/admin"
        silent = f"http://127.0.0.1:{free_port()}/admin"
        named = f"http://intranet.example.gov.cn:{server.port}/admin"
        others = ["http://10.0.0.8/status", "http://169.254.169.254/latest/meta-data/"]
        async with review_client(database_url) as client:
            found = await broken(client, [listening, silent, named, *others])
        assert found == dict.fromkeys([listening, silent, named, *others], REFUSED_DETAIL)
        assert server.hosts == []  # nothing was fetched


async def test_allow_listed_hosts_are_checked_and_redirects_inside_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_as(monkeypatch, {"metadata.internal": "169.254.169.254"})
    async with local_server() as server:
        server.routes = {"/moved": (302, {"location": "http://metadata.internal/latest/"})}
        alive = f"http://127.0.0.1:{server.port}/page"
        moved = f"http://127.0.0.1:{server.port}/moved"
        silent = f"http://127.0.0.1:{free_port()}/page"
        async with review_client(database_url, outbound_allow=["127.0.0.1"]) as client:
            found = await broken(client, [alive, moved, silent])
        assert found == {moved: REFUSED_DETAIL, silent: "ConnectError"}
