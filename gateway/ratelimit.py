"""A fixed-window request limit per client address for anonymous callers (per gateway process)."""

from __future__ import annotations

import math
import time

from common.errors import TooManyRequests


class WindowLimiter:
    """At most `limit` requests per `window_seconds` per key; old windows are forgotten."""

    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._counts: dict[str, int] = {}
        self._window = 0

    def check(self, key: str, now: float | None = None) -> None:
        now = now if now is not None else time.monotonic()
        window = int(now // self.window_seconds)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count > self.limit:
            # Retry-After is what is left of this window, not a whole one.
            left = (window + 1) * self.window_seconds - now
            raise TooManyRequests(
                "too many requests from this address; try again later",
                headers={"Retry-After": str(max(1, math.ceil(left)))},
            )
