"""HTTP fetching as a polite crawler: robots.txt, per-host concurrency and delay, conditional
GET, timeouts, redirect limits, a size cap and content-type checks. Every failure is a
`FetchFailed` with a reason the run records; nothing here raises anything else for bad pages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlparse
from urllib.robotparser import RobotFileParser

import httpx

from common.outbound import DestinationRefused, OutboundPolicy, outbound_client
from services.ingest.settings import IngestSettings

ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")


class FetchFailed(Exception):
    """The page could not be fetched usefully; `str()` is the recorded reason."""


@dataclass
class Fetched:
    url: str
    status: int  # 200, or 304 when the validators still hold
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None


class HostGate:
    """At most `concurrency` requests to one host at once, and `delay` seconds between starts."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.delay = delay
        self.lock = asyncio.Lock()
        self.next_start = 0.0

    async def __aenter__(self) -> None:
        await self.semaphore.acquire()
        async with self.lock:
            wait = self.next_start - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.next_start = time.monotonic() + self.delay

    async def __aexit__(self, *_: object) -> None:
        self.semaphore.release()


class Fetcher:
    """One per crawl run; shares gates and robots rules per host across the run."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        user_agent: str,
        max_bytes: int,
        concurrency: int = 2,
        delay: float = 1.0,
    ) -> None:
        self.client = client
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        self.delay = delay
        self.gates: dict[str, HostGate] = {}
        self.robots: dict[str, RobotFileParser] = {}

    def gate(self, url: str) -> HostGate:
        host = urlparse(url).netloc
        if host not in self.gates:
            self.gates[host] = HostGate(self.concurrency, self.delay)
        return self.gates[host]

    async def allowed(self, url: str) -> bool:
        """robots.txt of the host (fetched once per run); unreachable robots.txt allows all."""
        parts = urlparse(url)
        host = f"{parts.scheme}://{parts.netloc}"
        if host not in self.robots:
            rules = RobotFileParser()
            try:
                async with self.gate(url):
                    response = await self.client.get(f"{host}/robots.txt", headers=self._headers())
                lines = response.text.splitlines() if response.status_code == 200 else []
            except httpx.HTTPError:
                lines = []
            rules.parse(lines)
            self.robots[host] = rules
        return self.robots[host].can_fetch(self.user_agent, url)

    def _headers(self, etag: str | None = None, modified: str | None = None) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml,*/*"}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        return headers

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: tuple[str, ...] = ACCEPTED_TYPES,
    ) -> Fetched:
        if not await self.allowed(url):
            raise FetchFailed("disallowed by robots.txt")
        try:
            async with self.gate(url):
                return await self._get(url, etag, last_modified, accept)
        except DestinationRefused as error:  # loopback/private/metadata, here or after a redirect
            raise FetchFailed(str(error)) from error
        except httpx.TooManyRedirects as error:
            raise FetchFailed("too many redirects (loop?)") from error
        except httpx.TimeoutException as error:
            raise FetchFailed(f"timeout: {type(error).__name__}") from error
        except httpx.HTTPError as error:
            raise FetchFailed(f"network error: {type(error).__name__}: {error}") from error

    async def _get(
        self, url: str, etag: str | None, modified: str | None, accept: tuple[str, ...]
    ) -> Fetched:
        async with self.client.stream(
            "GET", url, headers=self._headers(etag, modified)
        ) as response:
            if response.status_code == 304:
                return Fetched(url, 304, b"", "", etag, modified)
            if response.status_code != 200:
                raise FetchFailed(f"HTTP {response.status_code}")
            content_type = response.headers.get("content-type", "")
            if not content_type.lower().startswith(accept):
                raise FetchFailed(f"not a page: {content_type or 'no content-type'}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchFailed(f"too large: {declared} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.max_bytes:
                    raise FetchFailed(f"too large: more than {self.max_bytes} bytes")
            return Fetched(
                str(response.url),
                200,
                bytes(body),
                content_type,
                response.headers.get("etag"),
                response.headers.get("last-modified"),
            )


def crawl_client(settings: IngestSettings) -> httpx.AsyncClient:
    """The crawler's client: guarded (common.outbound), so a source cannot point it inside."""
    return outbound_client(
        OutboundPolicy.from_settings(settings),
        timeout=httpx.Timeout(settings.crawl_timeout_seconds),
        follow_redirects=True,
        max_redirects=settings.crawl_max_redirects,
    )


@asynccontextmanager
async def crawl_fetcher(
    settings: IngestSettings, concurrency: int, delay: float
) -> AsyncIterator[Fetcher]:
    """A `Fetcher` for one crawl run over its own guarded client, closed when the run ends."""
    client = crawl_client(settings)
    try:
        yield Fetcher(
            client, settings.crawl_user_agent, settings.crawl_max_page_bytes, concurrency, delay
        )
    finally:
        await client.aclose()
