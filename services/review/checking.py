"""Machine checks wired to the service: current lexicons from the database, the link checker.

The checks that need the network (broken links) are kept apart from those that need the
database, so no HTTP request is ever made while a transaction is open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import Database
from common.events import ContentIngested, utcnow
from services.review.checks.engine import (
    CheckInput,
    LinkFinder,
    broken_links,
    run_static_checks,
    sort_findings,
)
from services.review.checks.metadata import ItemMeta
from services.review.checks.types import Finding
from services.review.lexicons import MatcherCache
from services.review.schemas import CheckRequest


class LinkClient(LinkFinder, Protocol):
    """The process's link checker (`clients.links.LinkChecker`): finds broken links, closes."""

    async def aclose(self) -> None: ...


def check_input(data: ContentIngested | CheckRequest) -> CheckInput:
    return CheckInput(
        title=data.title,
        body_text=data.body_text,
        body_html=data.body_html,
        meta=ItemMeta(
            kind=data.kind,
            publisher=data.publisher,
            doc_number=data.doc_number,
            written_at=data.written_at,
            published_at=data.published_at,
            summary=getattr(data, "summary", None),
            publish_at=_iso(data.publish_at),
        ),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class MachineChecks:
    """One per process: holds the automaton cache and the HTTP link checker."""

    def __init__(self, allowlist: list[str], links: LinkClient | None) -> None:
        self.allowlist = allowlist
        self.links = links
        self.matchers = MatcherCache()

    async def static(
        self, session: AsyncSession, data: ContentIngested | CheckRequest
    ) -> list[Finding]:
        """Every check that needs no network, with the current lexicons."""
        matcher = await self.matchers.current(session)
        return run_static_checks(check_input(data), matcher, self.allowlist, utcnow())

    async def broken_links(self, body_html: str, body_text: str) -> list[Finding]:
        """HTTP checks of every link; call it with no transaction open (it may take seconds)."""
        if self.links is None:
            return []
        return await broken_links(self.links, body_html, body_text)

    async def aclose(self) -> None:
        if self.links is not None:
            await self.links.aclose()


async def check_draft(
    database: Database, checks: MachineChecks, data: CheckRequest
) -> list[Finding]:
    """A draft's findings (nothing is stored); links are fetched only when `check_links` asks.

    The lexicons are read in a short session of their own, closed before any link is fetched:
    the draft writes nothing, so there is nothing to commit and no connection is held meanwhile.
    """
    async with database.sessions() as session:
        findings = await checks.static(session, data)
    if data.check_links:
        broken = await checks.broken_links(data.body_html, data.body_text)
        findings = sort_findings(findings + broken)
    return findings
