"""Rendered public answers kept in memory, valid while the portal is unchanged.

Every write to the portal tables (an article, a column entry, a retraction, a re-render) adds a
change-feed row in the same transaction, and every site or column edit bumps the site's
`render_rev`. So `(newest change seq, sum of render_rev)` — the *stamp* — changes whenever
any public answer could change, and answers rendered under one stamp stay true until the next.

The stamp is read at most once per `recheck_seconds` per process, and at once after a commit
of this process: an answer changed by another process (another replica, a worker-only
process) shows within `recheck_seconds`, well inside the `Cache-Control: max-age` every public
answer carries anyway. Errors (404, 410) are never kept; they are read each time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session
from sqlmodel import col

from common.db import Database
from common.responses import entity_tag
from services.distribute.models import Change, Site

Stamp = tuple[int, int]
Render = Callable[[AsyncConnection], Awaitable[bytes]]


@dataclass(frozen=True)
class CachedPage:
    """An answer's bytes with their entity tag, computed once."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> CachedPage:
        return cls(body, entity_tag(body))


async def portal_stamp(conn: AsyncConnection) -> Stamp:
    """What every public answer depends on, in one statement."""
    newest = select(func.coalesce(func.max(col(Change.seq)), 0)).scalar_subquery()
    revisions = select(func.coalesce(func.sum(col(Site.render_rev)), 0)).scalar_subquery()
    row = (await conn.execute(select(newest, revisions))).one()
    return int(row[0]), int(row[1])


class PageCache:
    """Public answers by key (kind, site, … — whatever identifies the bytes), at most
    `max_bytes` of bodies, least recently used first out.

    `page(key, render)` answers from memory, or opens a connection, renders and keeps the
    bytes — unless the stamp moved while rendering (the bytes may predate the change)."""

    def __init__(self, database: Database, recheck_seconds: float, max_bytes: int) -> None:
        self._database = database
        self._recheck_seconds = recheck_seconds
        self._pages: LRUCache[Hashable, CachedPage] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda page: len(page.body) + 1
        )
        self._stamp: Stamp | None = None
        self._generation = 0  # moves on every clear, so a render begun before one is dropped
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def page(self, key: Hashable, render: Render, fresh: bool = False) -> CachedPage:
        """`fresh`: the caller asked for no stored answer (`Cache-Control: no-cache`), so the
        stamp is read now, and the answer is from memory only if nothing changed."""
        if fresh:
            self.invalidate()
        await self._revalidate()
        cached = self._pages.get(key)
        if cached is not None:
            return cached
        generation = self._generation
        async with self._database.engine.connect() as conn:
            page = CachedPage.of(await render(conn))
        if generation == self._generation:
            self._pages[key] = page
        return page

    def invalidate(self) -> None:
        """Read the stamp before the next answer (this process just committed)."""
        self._checked_at = float("-inf")

    def __len__(self) -> int:
        return len(self._pages)

    async def _revalidate(self) -> None:
        if time.monotonic() - self._checked_at < self._recheck_seconds:
            return
        async with self._lock:  # one reader asks; the others wait for its answer
            if time.monotonic() - self._checked_at < self._recheck_seconds:
                return
            self._checked_at = time.monotonic()
            async with self._database.engine.connect() as conn:
                stamp = await portal_stamp(conn)
            if stamp != self._stamp:
                self._stamp = stamp
                self._generation += 1
                self._pages.clear()

    def watch_commits(self) -> None:
        """Invalidate after every commit of a session bound to this cache's database."""
        event.listen(Session, "after_commit", self._on_commit)

    def stop_watching(self) -> None:
        if event.contains(Session, "after_commit", self._on_commit):
            event.remove(Session, "after_commit", self._on_commit)

    def _on_commit(self, session: Session, *_: Any) -> None:
        if session.bind is self._database.engine.sync_engine:
            self.invalidate()
