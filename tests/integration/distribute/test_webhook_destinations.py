"""Webhooks cannot be pointed inside: refused (422 `url`) at registration, and again at send."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from common.outbound import OutboundPolicy, outbound_client
from services.distribute.app import create_app
from services.distribute.clients.webhooks import WebhookSender
from services.distribute.dispatch import WebhookDispatcher
from services.distribute.models import WebhookEndpoint
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    FakeIngest,
    Receiver,
    ingested,
    make_settings,
)


def resolve_as(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Make the system resolver answer `names` (host → address), as a hostile DNS would."""
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@asynccontextmanager
async def strict_distribute(database_url: str) -> AsyncIterator[Distribute]:
    """Distribute with the production default: nothing allow-listed."""
    settings = make_settings(database_url, outbound_allow=[])
    ingest = FakeIngest()
    app = create_app(settings, ingest_transport=httpx.MockTransport(ingest))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://distribute") as client:
            yield Distribute(app, client, ingest, settings)


async def test_inside_urls_are_refused_at_registration(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_as(monkeypatch, {"hooks.example.gov.cn": "127.0.0.1"})
    urls = [
        "http://127.0.0.1:8103/api/v1/sites",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/",
        "https://hooks.example.gov.cn/receive",  # a public-looking name resolving to loopback
    ]
    async with strict_distribute(database_url) as distribute:
        for url in urls:
            response = await distribute.client.post(
                "/api/v1/webhook-endpoints", json={"url": url, "secret": SECRET}, headers=ADMIN
            )
            assert response.status_code == 422, (url, response.text)
            assert [e["field"] for e in response.json()["errors"]] == ["url"]
        async with distribute.app.state.db.sessions() as session:
            query = select(func.count()).select_from(WebhookEndpoint)
            assert (await session.execute(query)).scalar() == 0
        # a name that does not resolve now is accepted: it is checked again at every send
        fine = {"url": "https://hooks.unresolvable.example/", "secret": SECRET}
        response = await distribute.client.post(
            "/api/v1/webhook-endpoints", json=fine, headers=ADMIN
        )
        assert response.status_code == 201, response.text


async def test_a_destination_refused_at_send_fails_at_once(
    distribute: Distribute, receiver: Receiver
) -> None:
    # registered while allow-listed (or while its name pointed elsewhere), refused when sending
    body = {"url": receiver.url, "secret": SECRET}
    created = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert created.status_code == 201
    await distribute.publish(ingested("c1"))
    strict = WebhookSender(outbound_client(OutboundPolicy(), timeout=5))
    assert await distribute.dispatch(WebhookDispatcher(distribute.settings, strict)) == 1
    assert receiver.received == []  # nothing was ever sent there
    items = (
        await distribute.client.get("/api/v1/deliveries?content_id=c1", headers=EDITOR)
    ).json()["items"]
    webhook = next(d for d in items if d["channel"] == "webhook")
    assert webhook["state"] == "failed" and webhook["attempts"] == 1  # no retry budget spent
    detail = (
        await distribute.client.get(f"/api/v1/deliveries/{webhook['id']}", headers=EDITOR)
    ).json()
    assert "destination not allowed" in detail["log"][0]["error"]
    assert "127.0.0.1" in detail["log"][0]["error"]  # the host as registered, nothing more
