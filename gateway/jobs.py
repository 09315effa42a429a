"""The gateway runs no background jobs: logins, keys and accounts change only on requests, and
the throttle rows are cleaned up by the logins themselves (`gateway.login`)."""

from __future__ import annotations

from common.jobs import Job
from gateway.deps import Deps


def jobs(deps: Deps) -> list[Job]:
    """None: the gateway has no periodic work."""
    return []
