"""Replicas over the network (aiohttp's pools): what a caller sends arrives byte for byte, the
answer comes back as it was given, and failures are sorted as `Replicas` needs them."""

from __future__ import annotations

import asyncio
import gzip
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from common.replicas import Replicas
from common.testing import free_port, served_in_thread
from kitchen.broker import stop_process, wait_listening
from kitchen.stack import server_command

pytestmark = pytest.mark.any_database


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> Response:
        seen = b"%s %s?%s\n" % (
            request.method.encode(),
            request.scope["raw_path"],
            request.scope["query_string"],
        )
        seen += b"".join(
            b"%s: %s\n" % (k, v) for k, v in request.headers.raw if k.startswith(b"x-")
        )
        seen += b"cookie: %s\n" % request.headers.get("cookie", "-").encode()
        seen += b"body: " + await request.body()
        if path == "moved":
            return Response(status_code=302, headers={"location": "/elsewhere"})
        if path == "zipped":
            return Response(gzip.compress(seen), headers={"content-encoding": "gzip"})
        return Response(seen, status_code=201, headers={"set-cookie": "s=1", "x-answer": "yes"})

    return app


@pytest.fixture
def echo_url() -> Iterator[str]:
    with served_in_thread(echo_app(), "echo") as url:
        yield url


@pytest.fixture
def hanging_up_url() -> Iterator[str]:
    """A server that reads a request and closes the connection without answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


async def test_the_request_arrives_as_sent_and_the_answer_returns_as_given(echo_url: str) -> None:
    replicas = Replicas([echo_url], 5.0)
    try:
        raw = [(b"x-one", "甲".encode()), (b"x-one", "乙".encode()), (b"x-two", b"2")]
        headers = httpx.Headers(raw)
        url = httpx.URL(path="/a%2Fb/%E4%B8%AD", query=b"q=%20x&r=%E9")
        answer = await replicas.request("POST", url, "正文".encode(), headers)
        assert answer.status_code == 201
        assert answer.headers["x-answer"] == "yes"
        assert answer.content == (
            b"POST /a%2Fb/%E4%B8%AD?q=%20x&r=%E9\n"
            + "x-one: 甲\nx-one: 乙\nx-two: 2\n".encode()
            + b"cookie: -\nbody: "
            + "正文".encode()
        )
        again = await replicas.get("/x")  # the Set-Cookie above is not replayed for others
        assert b"cookie: -\n" in again.content
        moved = await replicas.get("/moved")  # a redirect is the caller's to follow, or not
        assert moved.status_code == 302 and moved.headers["location"] == "/elsewhere"
        zipped = await replicas.get("/zipped")  # decoded once, by the httpx answer
        assert zipped.content.startswith(b"GET /zipped?\n")
    finally:
        await replicas.close()


async def test_a_replica_that_is_down_is_stepped_past_for_any_method(echo_url: str) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    replicas = Replicas([down, echo_url], 5.0)
    try:
        answers = [
            await replicas.request("POST", httpx.URL("/p"), b"", httpx.Headers()) for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [201] * 4
    finally:
        await replicas.close()
    alone = Replicas([down], 5.0)
    try:
        with pytest.raises(httpx.ConnectError):
            await alone.get("/p")
    finally:
        await alone.close()


async def test_a_connection_broken_underway_is_retried_only_when_idempotent(
    hanging_up_url: str, echo_url: str
) -> None:
    replicas = Replicas([hanging_up_url, echo_url], 5.0)
    try:
        assert (await replicas.get("/g")).status_code == 201  # replica 0 hung up; replica 1
        replicas.turn = iter(range(10))  # start at replica 0 again
        with pytest.raises(httpx.RemoteProtocolError):
            await replicas.request("POST", httpx.URL("/p"), b"x", httpx.Headers())
    finally:
        await replicas.close()


async def test_a_replica_that_does_not_answer_in_time_times_out() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    replicas = Replicas([f"http://127.0.0.1:{listener.getsockname()[1]}"], 0.5)
    try:
        with pytest.raises(httpx.TimeoutException):
            await replicas.get("/slow")
    finally:
        await replicas.close()
        listener.close()


SLOW_APP = """
import asyncio
from fastapi import FastAPI, Response

def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/p")
    async def p() -> Response:
        await asyncio.sleep(0.02)
        return Response(b"ok")

    return app
"""


async def test_posts_flow_on_while_each_replica_is_restarted(tmp_path: Path) -> None:
    """SIGTERM closes a replica's idle connections; a POST must not be sent on one of them (it
    could not be retried) but to the other replica.

    One race stays: uvicorn closes a connection it sees idle even when a request has just
    arrived on it unread, and that request's caller gets the broken connection (a POST is not
    retried: 503). That is at most the requests in flight at the instant of each stop; sending
    on connections already closed, which the pool's probe prevents, failed about seven POSTs per
    restart here.
    """
    (tmp_path / "slow_app.py").write_text(SLOW_APP, "utf-8")
    ports = [free_port(), free_port()]

    def start(port: int) -> subprocess.Popen[bytes]:
        server = subprocess.Popen(server_command("slow_app:create_app", port), cwd=tmp_path)
        wait_listening(server, port, None, name="replica")
        return server

    servers = {port: await asyncio.to_thread(start, port) for port in ports}
    replicas = Replicas([f"http://127.0.0.1:{port}" for port in ports], 5.0)
    answered, failed, done = 0, [], asyncio.Event()

    async def keep_posting() -> None:
        nonlocal answered
        while not done.is_set():
            try:
                await replicas.request("POST", httpx.URL("/p"), b"x", httpx.Headers())
                answered += 1
            except httpx.HTTPError as error:
                failed.append(repr(error.__cause__ or error))

    posters = [asyncio.create_task(keep_posting()) for _ in range(16)]
    try:
        for port in ports * 2:
            await asyncio.sleep(1)
            await asyncio.to_thread(stop_process, servers[port])
            servers[port] = await asyncio.to_thread(start, port)
        await asyncio.sleep(1)
    finally:
        done.set()
        await asyncio.gather(*posters)
        await replicas.close()
        for server in servers.values():
            stop_process(server)
    assert answered > 50
    assert len(failed) <= 2, failed  # four restarts; without the probe ≈ 28
    assert not any("Can not write" in failure for failure in failed), failed
