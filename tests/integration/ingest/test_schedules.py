"""定时发布, embargo and 到期下线 in the library: a submission carries its schedule onto
`content.ingested`, a future 发布日期 becomes the schedule, editors move or cancel it (announced
as `content.schedule_changed`, revision by revision), `GET /schedules` lists what is to fire, and
the `expiry` job takes an expired item down through the ordinary retraction — once, whichever
worker runs it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from common.columns import as_utc
from common.db import Database
from common.events import ContentPublished, utcnow
from common.jobs import run_once
from common.testing import staff
from services.ingest.consumers import on_content_published
from services.ingest.schedules import EXPIRY_REASON, expire_due
from tests.integration.ingest.helpers import EDITOR, outbox_events, traditional

CITY_EDITOR = staff("city-editor", ("editor",), sites=["city"])


def later(**delta: float) -> datetime:
    return (utcnow() + timedelta(**delta)).replace(microsecond=0)


async def submit(client: httpx.AsyncClient, **fields: object) -> str:
    created = await client.post("/api/v1/contents", json=traditional(**fields), headers=EDITOR)
    assert created.status_code == 202, created.text
    return str(created.json()["id"])


async def events_of(database_url: str, topic: str) -> list[dict[str, object]]:
    return [e["data"] for e in await outbox_events(database_url) if e["topic"].endswith(topic)]


async def test_a_submission_carries_its_schedule_to_review_and_distribution(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    publish_at, embargo, expire = later(hours=2), later(hours=3), later(days=30)
    content_id = await submit(
        ingest_client,
        publish_at=publish_at.isoformat(),
        embargo_until=embargo.isoformat(),
        expire_at=expire.isoformat(),
    )
    [ingested] = await events_of(database_url, "content.ingested")
    assert datetime.fromisoformat(str(ingested["publish_at"])) == publish_at
    assert datetime.fromisoformat(str(ingested["embargo_until"])) == embargo
    assert datetime.fromisoformat(str(ingested["expire_at"])) == expire
    assert ingested["schedule_revision"] == 1
    item = (await ingest_client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)).json()
    assert as_utc(datetime.fromisoformat(item["publish_at"])) == publish_at
    schedule = await ingest_client.get(f"/api/v1/contents/{content_id}/schedule", headers=EDITOR)
    assert schedule.json()["state"] == "waiting" and schedule.json()["revision"] == 1


async def test_a_future_publication_date_becomes_the_schedule(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    dated = later(days=1)
    content_id = await submit(ingest_client, published_at=dated.isoformat())
    [ingested] = await events_of(database_url, "content.ingested")
    assert datetime.fromisoformat(str(ingested["publish_at"])) == dated
    listed = await ingest_client.get("/api/v1/schedules", headers=EDITOR)
    assert [i["id"] for i in listed.json()["items"]] == [content_id]


async def test_editors_move_and_cancel_a_schedule_revision_by_revision(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    content_id = await submit(ingest_client, publish_at=later(hours=2).isoformat())
    path = f"/api/v1/contents/{content_id}/schedule"
    moved_to = later(hours=5)
    moved = await ingest_client.put(path, json={"publish_at": moved_to.isoformat()}, headers=EDITOR)
    assert moved.status_code == 200, moved.text
    assert moved.json()["revision"] == 2
    cancelled = await ingest_client.put(path, json={"publish_at": None}, headers=EDITOR)
    assert cancelled.json()["revision"] == 3 and cancelled.json()["state"] == "none"
    again = await ingest_client.put(path, json={"publish_at": None}, headers=EDITOR)
    assert again.json()["revision"] == 3  # nothing changed: nothing announced
    changes = await events_of(database_url, "content.schedule_changed")
    assert [c["revision"] for c in changes] == [2, 3]
    assert datetime.fromisoformat(str(changes[0]["publish_at"])) == moved_to
    assert changes[1]["publish_at"] is None and changes[1]["changed_by"] == "editor"
    listed = await ingest_client.get("/api/v1/schedules", headers=EDITOR)
    assert listed.json()["items"] == []


async def test_bad_schedules_are_refused_naming_the_field(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    past = await ingest_client.post(
        "/api/v1/contents",
        json=traditional(publish_at=(utcnow() - timedelta(minutes=1)).isoformat()),
        headers=EDITOR,
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "publish_at"
    naive = await ingest_client.post(
        "/api/v1/contents", json=traditional(publish_at="2031-01-01T08:00:00"), headers=EDITOR
    )
    assert naive.status_code == 422 and "publish_at" in naive.text
    backwards = traditional(
        publish_at=later(days=2).isoformat(), expire_at=later(days=1).isoformat()
    )
    refused = await ingest_client.post("/api/v1/contents", json=backwards, headers=EDITOR)
    assert refused.status_code == 422 and "expire_at" in refused.text
    assert await events_of(database_url, "content.ingested") == []

    content_id = await submit(ingest_client, publish_at=later(hours=1).isoformat())
    path = f"/api/v1/contents/{content_id}/schedule"
    other_site = await ingest_client.put(path, json={"publish_at": None}, headers=CITY_EDITOR)
    assert other_site.status_code in (403, 404)
    unknown = await ingest_client.put(
        "/api/v1/contents/" + "0" * 32 + "/schedule", json={"publish_at": None}, headers=EDITOR
    )
    assert unknown.status_code == 404
    extra = await ingest_client.put(path, json={"publish_at": None, "when": 1}, headers=EDITOR)
    assert extra.status_code == 422
    assert await events_of(database_url, "content.schedule_changed") == []


async def publish(database: Database, content_id: str) -> None:
    event = ContentPublished(
        content_id=content_id, version=1, content_hash="", targets=["province"],
        published_at=utcnow(),
    ).to_event("/kitchen/distribute")  # fmt: skip
    async with database.sessions() as session:
        await on_content_published(session, event)
        await session.commit()


async def test_an_expired_item_is_retracted_once_whichever_worker_runs(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    content_id = await submit(ingest_client, expire_at=later(seconds=2).isoformat())
    database = Database(database_url)
    try:
        await publish(database, content_id)
        path = f"/api/v1/contents/{content_id}/schedule"
        fired = await ingest_client.put(path, json={"publish_at": later(hours=1).isoformat()},
                                        headers=EDITOR)  # fmt: skip
        assert fired.status_code == 409 and fired.json()["errors"][0]["field"] == "publish_at"
        assert await run_once(database, lambda run: expire_due(run.session, 10)) == []
        await asyncio.sleep(2.1)
        # two workers at the same moment: one retraction
        first, second = await asyncio.gather(
            run_once(database, lambda run: expire_due(run.session, 10)),
            run_once(database, lambda run: expire_due(run.session, 10)),
        )
        assert sorted(first + second) == [content_id]
    finally:
        await database.dispose()
    [retraction] = await events_of(database_url, "content.retraction_requested")
    assert retraction["reason"] == EXPIRY_REASON and retraction["requested_by"] == "system:expiry"
    item = (await ingest_client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)).json()
    assert item["status"] == "retracted"
    schedule = await ingest_client.get(f"/api/v1/contents/{content_id}/schedule", headers=EDITOR)
    assert schedule.json()["state"] == "expired"


async def test_the_version_api_carries_the_schedule_and_the_original(
    ingest_client: httpx.AsyncClient,
) -> None:
    """What a distributor reads when an approval overtook `content.ingested`."""
    original = await submit(ingest_client)
    moment = later(hours=3)
    reprint = await submit(
        ingest_client,
        title="转载：关于进一步加强政府网站管理的通知",
        reprint_of=original,
        reprint_source="省人民政府办公厅",
        embargo_until=moment.isoformat(),
    )
    answer = await ingest_client.get(f"/api/v1/contents/{reprint}/versions/1", headers=EDITOR)
    assert answer.status_code == 200, answer.text
    version = answer.json()
    assert version["reprint_of"] == original
    assert datetime.fromisoformat(version["schedule"]["embargo_until"]) == moment
    assert version["schedule"]["publish_at"] is None and version["schedule"]["revision"] == 1
