"""A hub server keeps an idle connection open long after the hub's clients have dropped theirs,
and at SIGTERM answers what still arrives on one instead of cutting it.

The gateway (and each service reading a neighbour) drops idle connections after
`CLIENT_KEEP_ALIVE_SECONDS`, counted from when its event loop read the last response. On a loaded
machine that is seconds after the server wrote it; a server closing at uvicorn's default 5 s then
met POSTs on connections it was closing, and the gateway answered them 503. The server must
still answer on a connection idle for longer than the client's expiry plus such a lag.

At SIGTERM uvicorn by itself closes idle connections at once; a POST the client was writing on
one then is lost, and nginx answered it 503 during a rolling restart (`common.draining_http`).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from common.draining_http import DRAIN_SECONDS
from common.replicas import CLIENT_KEEP_ALIVE_SECONDS, SERVER_KEEP_ALIVE_SECONDS
from common.testing import free_port
from kitchen.broker import stop_process, wait_listening
from kitchen.stack import server_command

APP = """
from fastapi import FastAPI, Response

def create_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo() -> Response:
        return Response(b"ok")

    return app
"""
# uvicorn's default keep-alive is 5 s; idling past it shows the hub's own setting at work
IDLE_SECONDS = 6.5


def request(connection: socket.socket, method: str) -> bytes:
    connection.sendall(
        f"{method} /echo HTTP/1.1\r\nHost: hub\r\nContent-Length: 0\r\n\r\n".encode()
    )
    answer = b""
    while not answer.endswith(b"ok"):
        chunk = connection.recv(4096)
        if not chunk:
            return answer  # the server closed the connection
        answer += chunk
    return answer


@contextmanager
def echo_server(directory: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The echo app as `kitchen run` starts a service."""
    (directory / "echo_app.py").write_text(APP, "utf-8")
    port = free_port()
    server = subprocess.Popen(server_command("echo_app:create_app", port), cwd=directory)
    try:
        wait_listening(server, port, None, name="server")
        yield server, port
    finally:
        stop_process(server)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_connection_idle_past_the_clients_expiry_and_a_lag_is_still_answered(
    tmp_path: Path,
) -> None:
    assert CLIENT_KEEP_ALIVE_SECONDS + 2 < IDLE_SECONDS < SERVER_KEEP_ALIVE_SECONDS
    with echo_server(tmp_path) as (_, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            assert request(connection, "GET").startswith(b"HTTP/1.1 200")
            time.sleep(IDLE_SECONDS)
            assert request(connection, "POST").startswith(b"HTTP/1.1 200")


def test_at_sigterm_a_request_on_an_idle_connection_is_answered_and_the_connection_closed(
    tmp_path: Path,
) -> None:
    with echo_server(tmp_path) as (server, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            assert request(connection, "GET").startswith(b"HTTP/1.1 200")
            server.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 3
            while not refused(port):  # new connections go elsewhere from the start
                assert time.monotonic() < deadline, "still accepting after SIGTERM"
                time.sleep(0.05)
            answer = request(connection, "POST")
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert b"connection: close" in answer.lower()
            assert connection.recv(1) == b""  # closed after its answer
        # no connection left: the shutdown ends without waiting out the drain
        started = time.monotonic()
        server.wait(timeout=DRAIN_SECONDS)
        assert time.monotonic() - started < DRAIN_SECONDS - 1


def test_at_sigterm_a_connection_its_client_keeps_idle_is_closed_after_the_drain(
    tmp_path: Path,
) -> None:
    with echo_server(tmp_path) as (server, port):
        with socket.create_connection(("127.0.0.1", port), timeout=DRAIN_SECONDS + 5) as held:
            assert request(held, "GET").startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            assert held.recv(1) == b""
            assert time.monotonic() - started == pytest.approx(DRAIN_SECONDS, abs=1.5)
            server.wait(timeout=5)
