"""What every domain operation needs, handed in by the boundary (a request, a job, a test)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.interaction.calendar import WorkCalendar
from services.interaction.clock import Clock, local_date
from services.interaction.settings import InteractionSettings


@dataclass
class Ctx:
    """A unit of work: the caller owns the session and commits; domain code never does."""

    session: AsyncSession
    calendar: WorkCalendar
    clock: Clock
    settings: InteractionSettings

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """Today in Asia/Shanghai."""
        return local_date(self.clock.now())
