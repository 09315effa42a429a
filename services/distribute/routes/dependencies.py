"""Request dependencies shared by distribute's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from common.pagination import MAX_LIMIT
from common.responses import wants_fresh
from services.distribute import reads
from services.distribute.deps import Deps
from services.distribute.page_cache import PageCache

JSON = "application/json"


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]


async def read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A plain connection for the hot reads (`services.distribute.reads.reading`)."""
    async with reads.reading(request.app.state.db) as conn:
        yield conn


async def get_pages(request: Request) -> PageCache:
    pages: PageCache = request.app.state.pages
    return pages


PagesDep = Annotated[PageCache, Depends(get_pages)]
ConnDep = Annotated[AsyncConnection, Depends(read_connection, scope="function")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def fresh(request: Request) -> bool:
    """The caller asked for an answer from no cache (`Cache-Control: no-cache`)."""
    return wants_fresh(request.headers.get("cache-control", ""))


def max_age(deps: Deps) -> int:
    """How long public answers may be cached."""
    return deps.settings.public_max_age
