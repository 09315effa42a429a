"""Background loops wait longer after each failure, up to a ceiling, and start over on success."""

from __future__ import annotations

from common.backoff import Backoff


async def test_backoff_doubles_to_the_ceiling_and_resets() -> None:
    backoff = Backoff(first=0.001, ceiling=0.004)
    delays = []
    for _ in range(4):
        delays.append(backoff.delay)
        await backoff.wait()
    assert delays == [0.001, 0.002, 0.004, 0.004]
    backoff.reset()
    assert backoff.delay == 0.001
