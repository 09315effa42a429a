"""How `kitchen run` starts one server process: uvicorn with the hub's server options, on a
loopback port or on a listening socket inherited from the stack (`KITCHEN_WORKERS`).

    python -m kitchen.serve APP_FACTORY --port PORT
    python -m kitchen.serve APP_FACTORY --fd FD

The options: no access log, idle connections kept well past the hub's clients'
(`common.replicas`), drained at SIGTERM rather than cut (`common.draining_http`), at most 10 s
for what is in flight.

An inherited socket is not given to uvicorn as `--fd`: uvicorn wraps any descriptor as a Unix
socket, asyncio then leaves TCP_NODELAY off on every connection it accepts (it sets it only on
sockets it knows are TCP), and each small answer written in pieces waited for the client's
delayed ACK: a gateway on two processes answered /healthz ~700 times a second, a fifth of what
one process did. Here the socket is taken as the kernel describes it.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn

from common.draining_http import HTTP_PROTOCOL
from common.replicas import SERVER_KEEP_ALIVE_SECONDS


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket behind `fd`, with its real family (AF_INET here) and type."""
    return socket.socket(fileno=fd)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kitchen.serve")
    parser.add_argument("app_factory")
    listen = parser.add_mutually_exclusive_group(required=True)
    listen.add_argument("--port", type=int)
    listen.add_argument("--fd", type=int)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        args.app_factory,
        factory=True,
        host="127.0.0.1",
        port=args.port or 0,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
        http=HTTP_PROTOCOL,
    )
    sockets = None if args.fd is None else [inherited_socket(args.fd)]
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
