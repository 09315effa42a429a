"""A distribute app on a throwaway database with the demo tree, a stand-in for ingest's version
API, and a real local webhook receiver that verifies Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.events import CloudEvent, ContentIngested, EventData, ReviewDecided
from common.jobs import JobRun, run_once
from common.outbound import OutboundPolicy, outbound_client
from common.testing import free_port, staff
from services.distribute.app import create_app
from services.distribute.clients.webhooks import WebhookSender
from services.distribute.deps import Deps
from services.distribute.dispatch import Claim, WebhookDispatcher
from services.distribute.models import tables
from services.distribute.settings import DistributeSettings

T = TypeVar("T")
ADMIN = staff("admin", ("admin",))
EDITOR = staff("editor", ("editor",))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def ingested(content_id: str = "c1", version: int = 1, **overrides: Any) -> ContentIngested:
    values: dict[str, Any] = {
        "content_id": content_id,
        "version": version,
        "content_hash": f"hash-{content_id}-{version}",
        "title": "关于进一步加强政府网站信息内容建设的通知",
        "body_html": "<p>各市（州）人民政府，省政府各部门：</p><p>为进一步加强政府网站建设……</p>",
        "body_text": "各市（州）人民政府，省政府各部门：\n为进一步加强政府网站建设……",
        "kind": "notice",
        "site": "province",
        "columns": ["notices"],
        "publisher": "四川省人民政府办公厅",
        "doc_number": "川办发〔2017〕47号",
        "author": "editor",
        "submitted_at": datetime.now(UTC),
    }
    return ContentIngested(**(values | overrides))


def approved(item: ContentIngested, **overrides: Any) -> ReviewDecided:
    values: dict[str, Any] = {
        "content_id": item.content_id,
        "version": item.version,
        "content_hash": item.content_hash,
        "task_id": f"t-{item.content_id}",
        "decision": "approved",
        "stage": "终审",
        "decided_by": "reviewer3",
        "decided_at": datetime.now(UTC),
    }
    return ReviewDecided(**(values | overrides))


@dataclass
class FakeIngest:
    """Answers `GET /api/v1/contents/{id}/versions/{v}` from `versions`; counts the calls."""

    versions: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    calls: list[httpx.Request] = field(default_factory=list)
    down: bool = False

    def add(self, item: ContentIngested) -> None:
        self.versions[(item.content_id, item.version)] = item.model_dump(mode="json")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.down:
            raise httpx.ConnectError("ingest is down", request=request)
        parts = request.url.path.split("/")
        found = self.versions.get((parts[4], int(parts[6])))
        return httpx.Response(200, json=found) if found else httpx.Response(404, json={})


@dataclass
class Distribute:
    app: FastAPI
    client: httpx.AsyncClient
    ingest: FakeIngest
    settings: DistributeSettings

    async def handle(self, data: EventData) -> CloudEvent:
        """Run the service's handler for an event, committed, as the consumer runner would."""
        event = data.to_event("/test")
        async with self.app.state.db.sessions() as session:
            await self.app.state.spec.handlers[data.TOPIC](session, event)
            await session.commit()
        return event

    async def publish(self, item: ContentIngested) -> None:
        await self.handle(item)
        await self.handle(approved(item))

    async def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        import orjson

        query = select(tables.outbox.c.topic, tables.outbox.c.payload).order_by(tables.outbox.c.id)
        async with self.app.state.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {"topic": r.topic, **orjson.loads(r.payload)["data"]}
            for r in rows
            if topic in (None, r.topic)
        ]

    def dispatcher(self) -> WebhookDispatcher:
        client = outbound_client(OutboundPolicy.from_settings(self.settings), timeout=5)
        return WebhookDispatcher(self.settings, WebhookSender(client))

    async def dispatch(self, dispatcher: WebhookDispatcher | None = None) -> int:
        """Lease and send what is due, waiting for the sends to be settled; how many started."""
        dispatcher = dispatcher or self.dispatcher()
        started = await run_once(self.app.state.db, dispatcher.start_due)
        await run_once(self.app.state.db, dispatcher.drain)
        return started

    async def claim(self, dispatcher: WebhookDispatcher, limit: int = 10) -> list[Claim]:
        """Lease due deliveries and commit the leases, sending nothing (a process that dies)."""
        return await run_once(self.app.state.db, lambda run: dispatcher.lease(run, limit))

    async def attempt(self, dispatcher: WebhookDispatcher, claim: Claim) -> None:
        """Send one leased delivery and commit its outcome."""
        await run_once(self.app.state.db, lambda run: dispatcher.attempt(run, claim))

    async def run(self, work: Callable[[JobRun], Awaitable[T]]) -> T:
        """Job work (a step) in one committed transaction."""
        return await run_once(self.app.state.db, work)

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps


def make_settings(database_url: str, **overrides: Any) -> DistributeSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "process_role": "api",
        "seed_demo": True,
        "webhook_retry_schedule": [0.05, 0.05, 0.05],
        "webhook_timeout_seconds": 2.0,
        "outbound_allow": ["127.0.0.1"],  # the receivers run on this machine
    }
    return DistributeSettings(**(values | overrides))


@pytest.fixture
async def distribute(database_url: str) -> AsyncIterator[Distribute]:
    settings = make_settings(database_url)
    ingest = FakeIngest()
    app = create_app(settings, ingest_transport=httpx.MockTransport(ingest))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://distribute") as client:
            yield Distribute(app, client, ingest, settings)


@dataclass
class Receiver:
    """A real HTTP server that verifies every webhook and answers from `statuses` (then 204)."""

    url: str
    secret: str = SECRET
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception:
            self.rejected += 1
            return Response(status_code=401)
        status = self.statuses.pop(0) if self.statuses else 204
        self.received.append(
            {"id": request.headers["webhook-id"], "status": status, "payload": payload}
        )
        return Response(status_code=status)

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.received if 200 <= r["status"] < 300]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    target = Receiver(url=f"http://127.0.0.1:{port}/hook")
    app = Starlette(routes=[Route("/hook", target.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield target
    finally:
        server.should_exit = True
        await task
