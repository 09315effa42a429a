"""A shared cache of anonymous public reads, for a second at most (microcaching).

A portal's readers ask for the same column pages and articles thousands of times a second;
each answer the services mark `Cache-Control: public, max-age=N` may be reused by any shared
cache for N seconds (RFC 9111 §5.2.2). The gateway keeps such answers for
`min(N, seconds)` — one second by default — so a burst costs the services one request per
path per second, and a change reaches readers at most that much later than a CDN's 30 s.

Only what cannot differ between callers is kept: GETs without credentials, answered 200
`public` with a positive `max-age`, without `Set-Cookie`, `Vary` or `private`/`no-store`.
The key holds the path and query as the client sent them, and the request headers a service
may answer by (`Accept`, `Accept-Language`). A request asking for a fresh answer
(`Cache-Control: no-cache`) is forwarded, and its answer kept for the next callers.

While one request fetches a key's answer, the others for that key wait for it instead of all
asking the service at once (as nginx's `proxy_cache_lock`): when a popular search expires,
32 readers used to start 32 searches. If the answer is not kept, each waiting request then
asks the service itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

VARYING_REQUEST_HEADERS = ("accept", "accept-language")
Key = tuple[bytes, bytes, tuple[str, ...]]


@dataclass(frozen=True)
class StoredAnswer:
    """A 200's headers and body, when it was stored and when it stops being fresh
    (monotonic seconds)."""

    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float
    expires_at: float

    def age(self) -> int:
        """Whole seconds since it was stored (the `Age` header)."""
        return int(time.monotonic() - self.stored_at)

    @property
    def etag(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "etag"), None)


def shared_lifetime(status: int, headers: dict[str, str]) -> float:
    """How long a shared cache may reuse an answer (0: not at all). `headers` lowercase keys."""
    if status != 200 or "set-cookie" in headers or "vary" in headers:
        return 0.0
    directives = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.lower()] = value.strip('"')
    if "public" not in directives or {"private", "no-store", "no-cache"} & directives.keys():
        return 0.0
    try:
        return max(0.0, float(directives.get("s-maxage") or directives.get("max-age") or 0))
    except ValueError:
        return 0.0


def request_target(scope: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The path and query of an ASGI request as the client sent them."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return raw_path.split(b"?", 1)[0], scope.get("query_string", b"")  # some clients leave it


class MicroCache:
    """Fresh answers by request key, at most `max_bytes` of bodies, least recently used out;
    `seconds` 0 keeps nothing."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self._answers: LRUCache[Key, StoredAnswer] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda answer: len(answer.body) + 1
        )
        self._fetching: dict[Key, asyncio.Event] = {}

    @staticmethod
    def key(raw_path: bytes, query: bytes, headers: Mapping[str, str]) -> Key:
        """`headers` with lowercase names (Starlette's `Headers` or `scope_headers`)."""
        return raw_path, query, tuple(headers.get(h, "") for h in VARYING_REQUEST_HEADERS)

    def get(self, key: Key) -> StoredAnswer | None:
        answer = self._answers.get(key)
        if answer is None:
            return None
        if answer.expires_at <= time.monotonic():
            self._answers.pop(key, None)
            return None
        return answer

    async def fetched_by_another(self, key: Key) -> StoredAnswer | None:
        """The answer a request fetching `key` right now keeps, once it has it; None when no
        request is fetching it, or its answer was not kept."""
        fetching = self._fetching.get(key)
        if fetching is None or self.seconds <= 0:
            return None
        await fetching.wait()
        return self.get(key)

    @contextmanager
    def fetching(self, key: Key) -> Iterator[None]:
        """Marks `key` as being fetched until the block ends, kept or not (an error too)."""
        event = self._fetching.setdefault(key, asyncio.Event())
        try:
            yield
        finally:
            if self._fetching.get(key) is event:
                del self._fetching[key]
            event.set()

    def put(self, key: Key, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Keep the answer if a shared cache may (`shared_lifetime`)."""
        lifetime = min(self.seconds, shared_lifetime(status, {k.lower(): v for k, v in headers}))
        if lifetime > 0:
            now = time.monotonic()
            self._answers[key] = StoredAnswer(tuple(headers), body, now, now + lifetime)

    def __len__(self) -> int:
        return len(self._answers)
