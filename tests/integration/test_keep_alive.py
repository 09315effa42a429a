"""A hub server keeps an idle connection open long after the hub's clients have dropped theirs.

The gateway (and each service reading a neighbour) drops idle connections after
`CLIENT_KEEP_ALIVE_SECONDS`, counted from when its event loop read the last response. On a loaded
machine that is seconds after the server wrote it; a server closing at uvicorn's default 5 s then
met POSTs on connections it was closing, and the gateway answered them 503. The server must
still answer on a connection idle for longer than the client's expiry plus such a lag.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

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


def test_a_connection_idle_past_the_clients_expiry_and_a_lag_is_still_answered(
    tmp_path: Path,
) -> None:
    assert CLIENT_KEEP_ALIVE_SECONDS + 2 < IDLE_SECONDS < SERVER_KEEP_ALIVE_SECONDS
    (tmp_path / "echo_app.py").write_text(APP, "utf-8")
    port = free_port()
    server = subprocess.Popen(server_command("echo_app:create_app", port), cwd=tmp_path)
    try:
        wait_listening(server, port, None, name="server")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            assert request(connection, "GET").startswith(b"HTTP/1.1 200")
            time.sleep(IDLE_SECONDS)
            assert request(connection, "POST").startswith(b"HTTP/1.1 200")
    finally:
        stop_process(server)
