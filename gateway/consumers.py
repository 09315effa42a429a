"""The gateway consumes no events: it has no inbox and no worker (its ServiceSpec has no
messaging tables). `handlers` exists so every package has the same shape."""

from __future__ import annotations

from common.consumer import Handler
from gateway.deps import Deps


def handlers(deps: Deps) -> dict[str, Handler]:
    """No topic is consumed by the gateway."""
    return {}
