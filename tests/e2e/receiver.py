"""A webhook receiver on a free port that verifies Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.testing import free_port


@dataclass
class Received:
    """What arrived: every raw delivery, and the verified payloads by `webhook-id`."""

    raw: list[str] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: int = 0


@asynccontextmanager
async def webhook_receiver(secret: str) -> AsyncIterator[tuple[str, Received]]:
    received = Received()
    verifier = Webhook(secret)

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            verifier.verify(body, dict(request.headers))
        except Exception:
            received.rejected += 1
            return Response(status_code=401)
        webhook_id = request.headers["webhook-id"]
        received.raw.append(webhook_id)
        received.by_id[webhook_id] = orjson.loads(body)
        return Response(status_code=204)

    port = free_port()
    app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        server.should_exit = True
        await task
