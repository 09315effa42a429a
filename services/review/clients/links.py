"""Broken links and unavailable attachments: HTTP checks with a timeout, a concurrency limit and
a per-URL cache (so one dead attachment linked from a hundred items costs one request)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from common.outbound import DestinationRefused, OutboundPolicy, outbound_client
from services.review.checks.markup import Link
from services.review.checks.types import Finding
from services.review.settings import ReviewSettings

# What a link to a refused destination (loopback, private, metadata …) is reported as: the same
# words whether or not anything listens there, so checks cannot be used to map the inside.
REFUSED_DETAIL = "目标地址不允许"


@dataclass(frozen=True)
class LinkStatus:
    ok: bool
    detail: str  # HTTP status code or the error's class name


class LinkChecker:
    """Checks URLs with HEAD (falling back to GET when HEAD is refused); results are cached."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        concurrency: int = 8,
        timeout_seconds: float = 3.0,
        cache_seconds: float = 600.0,
    ) -> None:
        self.client = client
        self.limit = asyncio.Semaphore(concurrency)
        self.timeout = httpx.Timeout(timeout_seconds)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, LinkStatus]] = {}
        self.requests = 0  # how many HTTP requests were actually sent (for tests and metrics)

    async def status(self, url: str) -> LinkStatus:
        cached = self._cache.get(url)
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        async with self.limit:
            result = await self._fetch(url)
        self._cache[url] = (time.monotonic(), result)
        return result

    async def _fetch(self, url: str) -> LinkStatus:
        try:
            self.requests += 1
            response = await self.client.head(url, timeout=self.timeout, follow_redirects=True)
            if response.status_code in (403, 405, 501):
                self.requests += 1
                response = await self.client.get(url, timeout=self.timeout, follow_redirects=True)
        except DestinationRefused:
            return LinkStatus(False, REFUSED_DETAIL)
        except httpx.HTTPError as error:
            return LinkStatus(False, type(error).__name__)
        return LinkStatus(response.status_code < 400, str(response.status_code))

    async def find_broken(self, links: list[Link], source: dict[str, str]) -> list[Finding]:
        """One warn finding per occurrence of a link that does not answer with < 400."""
        urls = sorted({link.url for link in links})
        statuses = dict(
            zip(urls, await asyncio.gather(*(self.status(u) for u in urls)), strict=True)
        )
        return [
            Finding(
                "link.broken",
                "link",
                "warn",
                link.start,
                link.end,
                source[link.field][link.start : link.end],
                statuses[link.url].detail,
                link.field,
            )
            for link in links
            if not statuses[link.url].ok
        ]

    async def aclose(self) -> None:
        await self.client.aclose()


def link_checker(settings: ReviewSettings) -> LinkChecker | None:
    """The process's link checker over the outbound policy's client; None when checks are off."""
    if not settings.link_check_enabled:
        return None
    client = outbound_client(
        OutboundPolicy.from_settings(settings), headers={"user-agent": "kitchen-review-linkcheck/1"}
    )
    return LinkChecker(
        client, settings.link_concurrency, settings.link_timeout_seconds,
        settings.link_cache_seconds,
    )  # fmt: skip
