"""Event handlers of the review service: a new version is checked and a review task opened."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from common.consumer import Handler
from common.events import CloudEvent, ContentIngested
from services.review.deps import Deps
from services.review.tasks import latest_task, open_review


def handlers(deps: Deps) -> dict[str, Handler]:
    """`content.ingested` → a review task, bound to this process's machine checks."""
    checks = deps.checks

    async def on_content_ingested(session: AsyncSession, event: CloudEvent) -> None:
        data = ContentIngested.model_validate(event.data)
        latest = await latest_task(session, data.content_id)
        if latest is not None and latest.version >= data.version:
            return  # an older or repeated version: already reviewed or superseded
        # Only the checks without network here: this runs inside the consumer's transaction.
        findings = await checks.static(session, data)
        await open_review(session, data, findings, latest, queue_links=checks.links is not None)

    return {ContentIngested.TOPIC: on_content_ingested}
