"""The anonymous limit per address answers Retry-After with what is left of the window."""

from __future__ import annotations

import pytest

from common.errors import TooManyRequests
from gateway.ratelimit import WindowLimiter


def test_retry_after_is_the_rest_of_the_window() -> None:
    limiter = WindowLimiter(2, window_seconds=60)
    limiter.check("a", now=6000.0)
    limiter.check("a", now=6010.0)
    limiter.check("b", now=6010.0)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("a", now=6045.5)
    assert refused.value.headers["Retry-After"] == "15"
    limiter.check("a", now=6060.0)  # a new window
