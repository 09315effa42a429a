"""Server processes sharing one listening socket (`KITCHEN_WORKERS`) take it as the TCP socket
it is, so every connection they accept has TCP_NODELAY as asyncio gives a socket it binds."""

from __future__ import annotations

import asyncio
import os
import socket

from kitchen.serve import inherited_socket
from kitchen.stack import listening_socket


async def nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname())
        nodelay = await asyncio.wait_for(accepted, 5)
        writer.close()
        return nodelay
    finally:
        server.close()


async def test_the_inherited_socket_is_tcp_and_its_connections_send_at_once() -> None:
    listener = listening_socket(0)
    try:
        inherited = inherited_socket(os.dup(listener.fileno()))  # what a child gets at `fd`
        assert (inherited.family, inherited.type) == (socket.AF_INET, socket.SOCK_STREAM)
        assert await nodelay_of_an_accepted_connection(inherited) != 0
    finally:
        listener.close()
