"""A wake-up within one process: rung when a transaction that made work commits, so whoever
polls for that work (the outbox relay, a job) looks at once instead of at its next poll.

The poll stays: it covers work made by another process and work coming due by the clock. A bell
may be made at import (a service's outbox) and waited on from any event loop: every wait makes
its own event in its own loop, and a ring with nobody waiting is kept for the next wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession


class Doorbell:
    def __init__(self) -> None:
        self._rung = False
        self._waiting: set[asyncio.Event] = set()

    def ring(self) -> None:
        """Wake every waiter now; with none, the next `wait` returns at once."""
        self._rung = True
        for waiter in self._waiting:
            waiter.set()

    def ring_after_commit(self, session: AsyncSession) -> None:
        """Ring once this session's transaction commits (a rollback rings nothing)."""

        def committed(_session: Any) -> None:
            self.ring()

        event.listen(session.sync_session, "after_commit", committed, once=True)

    async def wait(self, at_most: float) -> None:
        """Return when rung (or rung since the last wait), or after `at_most` seconds."""
        if not self._rung:
            waiter = asyncio.Event()
            self._waiting.add(waiter)
            try:
                await asyncio.wait_for(waiter.wait(), at_most)
            except TimeoutError:
                pass
            finally:
                self._waiting.discard(waiter)
        self._rung = False
