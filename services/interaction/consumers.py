"""Event handlers of the interaction service: none yet (it learns nothing from other services)."""

from __future__ import annotations

from common.consumer import Handler

HANDLERS: dict[str, Handler] = {}
