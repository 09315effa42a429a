"""uvicorn's HTTP protocol with a graceful shutdown that loses no request a client is sending.

At SIGTERM uvicorn stops listening and closes every idle keep-alive connection at once. A client
(nginx in front of the gateway, the gateway in front of a service) may be writing a request on
such a connection at that very moment: the request is lost with the connection, and because the
client cannot know whether it was acted on, it does not send a POST again — nginx answers it 503.

Here an idle connection stays open through the drain: a request arriving on it is answered with
`Connection: close`, and the client itself drops the connections it no longer uses after its
keep-alive (`CLIENT_KEEP_ALIVE_SECONDS`), which ends the shutdown. New connections are refused
from the first moment (uvicorn stops listening), and a refused connection is safe for any client
to try on another replica. A connection still idle after `DRAIN_SECONDS` belongs to a client that
keeps connections longer than the hub's own clients, and is closed then.

Used by every server of the hub: `kitchen.serve` (`kitchen run`) and compose (`uvicorn --http`).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from common.replicas import CLIENT_KEEP_ALIVE_SECONDS

# Past the clients' keep-alive by a margin for a loaded client reading its last answer late.
DRAIN_SECONDS = CLIENT_KEEP_ALIVE_SECONDS + 2.0
# uvicorn's `--http` for every server of the hub.
HTTP_PROTOCOL = "common.draining_http:DrainingHTTPProtocol"


class DrainingHTTPProtocol(HttpToolsProtocol):
    """A connection that, once shutdown has begun, answers what arrives and then closes."""

    draining = False
    drain_timer: asyncio.TimerHandle | None = None

    def shutdown(self) -> None:
        """Called by uvicorn at SIGTERM: an answer in progress is the last on this connection;
        an idle connection waits for its client to drop it, or for `DRAIN_SECONDS`."""
        self.draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        elif self.drain_timer is None:
            self.drain_timer = self.loop.call_later(DRAIN_SECONDS, self.close_if_idle)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.draining:
            self.cycle.keep_alive = False  # the answer says `Connection: close`, then closes

    def close_if_idle(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.drain_timer is not None:
            self.drain_timer.cancel()
        super().connection_lost(exc)
