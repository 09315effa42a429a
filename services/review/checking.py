"""Machine checks wired to the service: current lexicons from the database, the link checker."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import ContentIngested, utcnow
from services.review.checks.engine import CheckInput, run_checks
from services.review.checks.links import LinkChecker
from services.review.checks.metadata import ItemMeta
from services.review.checks.types import Finding
from services.review.lexicons import MatcherCache
from services.review.schemas import CheckRequest


class MachineChecks:
    """One per process: holds the automaton cache and the HTTP link checker."""

    def __init__(self, allowlist: list[str], links: LinkChecker | None) -> None:
        self.allowlist = allowlist
        self.links = links
        self.matchers = MatcherCache()

    async def check(
        self, session: AsyncSession, data: ContentIngested | CheckRequest, links: bool = True
    ) -> list[Finding]:
        """Every machine check of one version (or draft) with the current lexicons."""
        matcher = await self.matchers.current(session)
        item = CheckInput(
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
            ),
        )
        checker = self.links if links else None
        return await run_checks(item, matcher, self.allowlist, utcnow(), checker)

    async def aclose(self) -> None:
        if self.links is not None:
            await self.links.aclose()
