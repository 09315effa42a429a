"""Event handlers of the interaction service: none yet (it learns nothing from other services)."""

from __future__ import annotations

from common.consumer import Handler
from services.interaction.deps import Deps


def handlers(deps: Deps) -> dict[str, Handler]:
    return {}
