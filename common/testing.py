"""Test helpers every service's tests share: throwaway databases, actors, free ports."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from common.identity import Actor, actor_headers
from common.settings import DEV_INTERNAL_SECRET

POSTGRES_ADMIN_DSN = os.environ.get(
    "KITCHEN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def database_kind_under_test() -> str:
    """`sqlite` (default) or `postgres`, from `KITCHEN_TEST_DB`."""
    return os.environ.get("KITCHEN_TEST_DB", "sqlite")


@asynccontextmanager
async def throwaway_database(directory: Path, kind: str | None = None) -> AsyncIterator[str]:
    """A fresh, empty database URL of the chosen kind, dropped afterwards."""
    kind = kind or database_kind_under_test()
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
        return
    name = f"kitchen_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def staff(
    actor_id: str = "editor",
    roles: tuple[str, ...] = ("editor",),
    sites: list[str] | None = None,
    secret: str = DEV_INTERNAL_SECRET,
    department: str | None = None,
) -> Mapping[str, str]:
    """Signed identity headers as the gateway would send them.

    Signed again each time they are sent (`common.identity.SignedHeaders`), so module constants
    such as `ADMIN = staff(...)` outlive the signature's age limit.
    """
    actor = Actor(id=actor_id, name=actor_id, roles=list(roles), sites=sites, department=department)
    return actor_headers(actor, secret)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ResponseHook = Callable[[httpx.Response], Awaitable[None]]


def reserved_port() -> socket.socket:
    """A 127.0.0.1 port held bound but not listening: connections to it are refused, as to a
    server that is down, and no other socket (an outgoing connection's ephemeral port, say) can
    take it before `served_in_thread(..., sock=...)` serves there."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def served_in_thread(
    app: FastAPI, name: str, within_seconds: float = 10.0, sock: socket.socket | None = None
) -> Iterator[str]:
    """Serve `app` over real HTTP (uvicorn on 127.0.0.1 — on the bound `sock`, or a free port —
    in a daemon thread of this process, so the test can still reach the app's state); yields the
    base URL, stops it after."""
    port = free_port() if sock is None else int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="critical", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    sockets = None if sock is None else [sock]
    thread = threading.Thread(target=server.run, args=(sockets,), name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + within_seconds
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def answers_its_model(routers: Iterable[APIRouter]) -> ResponseHook:
    """An httpx response hook: every JSON success must validate against the `response_model`
    of the route that answered it (public models that forbid extra fields catch undocumented
    keys too)."""
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]

    async def check(response: httpx.Response) -> None:
        content_type = response.headers.get("content-type", "")
        if not 200 <= response.status_code < 300 or "json" not in content_type:
            return
        request = response.request
        for route in routes:
            methods = route.methods or set()
            if request.method in methods and route.path_regex.match(request.url.path):
                await response.aread()
                if route.response_model is not None:
                    TypeAdapter(route.response_model).validate_python(response.json())
                return

    return check
