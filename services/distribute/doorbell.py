"""Rung the moment a transaction that queued webhook deliveries commits.

The webhook job (`services.distribute.jobs`) polls every `webhook_poll_seconds`, which also
covers deliveries queued by another process and retries coming due; a runner that can wake a
job early (`wait`) takes the poll interval off the latency of a fresh approval.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession


class Doorbell:
    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    def ring_after_commit(self, session: AsyncSession) -> None:
        """Ring once this session's transaction commits (a rollback rings nothing)."""

        def committed(_session: Any) -> None:
            self.ring()

        event.listen(session.sync_session, "after_commit", committed, once=True)

    async def wait(self, at_most: float) -> None:
        """Return when rung, or after `at_most` seconds."""
        try:
            await asyncio.wait_for(self._rung.wait(), at_most)
        except TimeoutError:
            pass
        self._rung.clear()
