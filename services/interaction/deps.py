"""The interaction service's long-lived collaborators, built once by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from services.interaction.calendar_store import CalendarCache
from services.interaction.clock import Clock
from services.interaction.settings import InteractionSettings


@dataclass
class Deps:
    """What requests, jobs and startup share: the settings, the clock, the calendar cache."""

    settings: InteractionSettings
    clock: Clock
    calendar: CalendarCache
