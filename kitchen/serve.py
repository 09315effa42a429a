"""One server process on a listening socket inherited from `kitchen run` (`KITCHEN_WORKERS`).

    python -m kitchen.serve APP_FACTORY FD

uvicorn's own `--fd` wraps the descriptor as a Unix socket whatever it is; asyncio then leaves
TCP_NODELAY off on every connection it accepts (it sets it only on sockets it knows are TCP),
and each small answer written in pieces waited for the client's delayed ACK: a gateway on two
processes answered /healthz ~700 times a second, a fifth of what one process did. Here the
socket is taken as the kernel describes it and handed to the same uvicorn server, with the
options `kitchen.stack.server_command` gives a single process.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from common.draining_http import HTTP_PROTOCOL
from common.replicas import SERVER_KEEP_ALIVE_SECONDS


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket behind `fd`, with its real family (AF_INET here) and type."""
    return socket.socket(fileno=fd)


def main(argv: list[str]) -> None:
    if len(argv) != 2 or not argv[1].isdigit():
        sys.exit("usage: python -m kitchen.serve APP_FACTORY FD")
    config = uvicorn.Config(
        argv[0],
        factory=True,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
        http=HTTP_PROTOCOL,
    )
    uvicorn.Server(config).run(sockets=[inherited_socket(int(argv[1]))])


if __name__ == "__main__":
    main(sys.argv[1:])
