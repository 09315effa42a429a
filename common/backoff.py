"""Doubling waits after failures, shared by every background loop (relay, consumer, jobs)."""

from __future__ import annotations

import asyncio


class Backoff:
    """`await wait()` sleeps the current delay and doubles it up to `ceiling`; `reset()` after a
    success starts again from `first`."""

    def __init__(self, first: float = 0.5, ceiling: float = 10.0) -> None:
        self.first = first
        self.ceiling = ceiling
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, self.ceiling)
