"""A version's status only moves forward, whatever order review's and distribute's events come in.

They travel on different topics, so nothing orders them; after a broker starts over they all come
again, interleaved. A late `review.started` or `review.decided` must not undo `published`.
"""

from __future__ import annotations

import httpx

from common.db import Database
from common.events import ContentPublished, ReviewDecided, ReviewStarted, utcnow
from services.ingest.consumers import (
    on_content_published,
    on_review_decided,
    on_review_started,
)
from tests.integration.ingest.helpers import EDITOR, policy

HANDLERS = {
    "started": on_review_started,
    "approved": on_review_decided,
    "published": on_content_published,
}


def event_of(kind: str, content_id: str):  # type: ignore[no-untyped-def]
    if kind == "started":
        data = ReviewStarted(
            content_id=content_id, version=1, task_id="t1", stages=["初审"], blocking_findings=0
        )
    elif kind == "approved":
        data = ReviewDecided(
            content_id=content_id, version=1, decision="approved", content_hash="h",
            task_id="t1", stage="终审", decided_by="r3", decided_at=utcnow(),
        )  # fmt: skip
    else:
        data = ContentPublished(
            content_id=content_id, version=1, content_hash="h", targets=["province"],
            published_at=utcnow(),
        )  # fmt: skip
    return data.to_event("/test")


async def deliver(database_url: str, content_id: str, *kinds: str) -> None:
    database = Database(database_url)
    try:
        for kind in kinds:
            async with database.sessions() as session:
                await HANDLERS[kind](session, event_of(kind, content_id))
                await session.commit()
    finally:
        await database.dispose()


async def status_of(client: httpx.AsyncClient, content_id: str) -> dict:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)
    assert response.status_code == 200, response.text
    return response.json()


async def test_late_review_events_do_not_undo_publication(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    submitted = await ingest_client.post("/api/v1/contents", json=policy(), headers=EDITOR)
    assert submitted.status_code == 202, submitted.text
    content_id = submitted.json()["id"]
    await deliver(database_url, content_id, "published", "approved", "started")
    item = await status_of(ingest_client, content_id)
    assert item["status"] == "published"
    assert item["approved_version"] == 1 and item["published_version"] == 1


async def test_a_late_start_does_not_undo_a_decision(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    submitted = await ingest_client.post("/api/v1/contents", json=policy(), headers=EDITOR)
    content_id = submitted.json()["id"]
    await deliver(database_url, content_id, "approved", "started")
    assert (await status_of(ingest_client, content_id))["status"] == "approved"
    await deliver(database_url, content_id, "published")
    assert (await status_of(ingest_client, content_id))["status"] == "published"
