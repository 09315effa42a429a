"""A review app on a throwaway database; events are fed to its handlers as the consumer would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from common.events import ContentIngested, utcnow
from common.jobs import JobRun, run_once
from common.testing import staff
from services.review import linkcheck
from services.review.app import create_app
from services.review.checking import MachineChecks
from services.review.clients.links import LinkChecker
from services.review.models import tables
from services.review.settings import ReviewSettings

EDITOR = staff("editor", ("editor",))
ADMIN = staff("admin", ("admin",))
R1, R2, R3 = (staff(f"reviewer{n}", ("reviewer",)) for n in (1, 2, 3))
NOTICE_TEXT = (
    "各市（州）人民政府办公室：\n为做好第一批检查工作，现将有关事项通知如下。\n请认真落实。"
)


def dead_or_alive(request: httpx.Request) -> httpx.Response:
    """Stands in for the web: hosts named `dead.*` answer 404, everything else 200."""
    return httpx.Response(404 if request.url.host.startswith("dead.") else 200)


def ingested(**overrides: Any) -> ContentIngested:
    """A ContentIngested as the ingest service emits it (a clean notice by default)."""
    fields: dict[str, Any] = {
        "content_id": uuid.uuid4().hex,
        "version": 1,
        "content_hash": uuid.uuid4().hex + uuid.uuid4().hex,
        "title": "关于开展第一批政府网站检查工作的通知",
        "body_html": "".join(f"<p>{p}</p>" for p in NOTICE_TEXT.splitlines()),
        "body_text": NOTICE_TEXT,
        "kind": "notice",
        "site": "province",
        "columns": ["notices"],
        "publisher": "省人民政府办公厅",
        "doc_number": "省政办发〔2024〕1号",
        "author": "editor",
        "submitted_at": utcnow(),
    }
    fields.update(overrides)
    if "body_text" in overrides and "body_html" not in overrides:
        fields["body_html"] = "".join(f"<p>{p}</p>" for p in fields["body_text"].splitlines())
    return ContentIngested(**fields)


@dataclass
class ReviewHarness:
    app: FastAPI
    client: httpx.AsyncClient
    checks: MachineChecks

    async def ingest(self, **overrides: Any) -> ContentIngested:
        """Deliver a `content.ingested` event to the handler in one transaction, like the runner."""
        data = ingested(**overrides)
        await self.deliver(data)
        return data

    async def deliver(self, data: ContentIngested) -> None:
        handler = self.app.state.spec.handlers[ContentIngested.TOPIC]
        async with self.app.state.db.sessions() as session:
            await handler(session, data.to_event("/kitchen/ingest"))
            await session.commit()

    async def run_link_checks(self, max_attempts: int = 5) -> int:
        """One pass of the worker's link-check step (the harness runs no worker)."""

        async def step(run: JobRun) -> int:
            return await linkcheck.run_pending(
                run, self.checks.broken_links, max_attempts=max_attempts
            )

        return await run_once(self.app.state.db, step)

    async def task_of(self, content_id: str, headers: dict[str, str] = EDITOR) -> dict[str, Any]:
        response = await self.client.get(
            "/api/v1/reviews", params={"content_id": content_id}, headers=headers
        )
        assert response.status_code == 200, response.text
        task_id = response.json()["items"][-1]["id"]
        return (await self.client.get(f"/api/v1/reviews/{task_id}", headers=headers)).json()

    async def decide(
        self, task_id: str, headers: dict[str, str], decision: str = "approve", **extra: Any
    ) -> httpx.Response:
        body = {"decision": decision, "comment": extra.pop("comment", "同意"), **extra}
        return await self.client.post(
            f"/api/v1/reviews/{task_id}/decisions", json=body, headers=headers
        )

    async def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Events written to the outbox (oldest first), as CloudEvents dicts."""
        query = select(tables.outbox).order_by(tables.outbox.c.id)
        async with self.app.state.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [orjson.loads(r.payload) for r in rows if topic is None or r.topic == topic]


def make_settings(database_url: str, **overrides: Any) -> ReviewSettings:
    return ReviewSettings(database_url=database_url, process_role="api", **overrides)


def mock_checks(
    settings: ReviewSettings, handler: Callable[..., httpx.Response] = dead_or_alive
) -> MachineChecks:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return MachineChecks(settings.link_allowlist, LinkChecker(client, concurrency=4))


@asynccontextmanager
async def review_app(
    database_url: str, web: Callable[..., httpx.Response] = dead_or_alive
) -> AsyncIterator[ReviewHarness]:
    """A started review app whose link checker talks to `web` instead of the internet."""
    settings = make_settings(database_url)
    checks = mock_checks(settings, web)
    app = create_app(settings, checks)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://review") as client:
            yield ReviewHarness(app, client, checks)


@pytest.fixture
async def review(database_url: str) -> AsyncIterator[ReviewHarness]:
    async with review_app(database_url) as harness:
        yield harness
