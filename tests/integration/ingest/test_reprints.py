"""Reprints a reprint rule asks for (`reprint.requested`): made once per obligation from the
library's own copy of the original, as a reprint (来源, link, `reprint_of`) on the lower site's
columns, announced with `reprint_of`; retracted when the original is
(`reprint.retraction_requested`), also while still in review."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import col, select

from common.events import EventData, ReprintRequested, ReprintRetractionRequested
from services.ingest.consumers import handlers
from services.ingest.models import ContentItem
from tests.integration.ingest.helpers import EDITOR, outbox_events, policy
from tests.integration.ingest.test_retraction_request import publish, retract

SOURCE_NAME = "四川省人民政府"


async def handle(client: httpx.AsyncClient, data: EventData) -> None:
    """Run the ingest worker's handler for an event, committed, as the consumer runner would."""
    app = client.app  # type: ignore[attr-defined]
    handler = handlers(app.state.deps)[data.TOPIC]
    async with app.state.db.sessions() as session:
        await handler(session, data.to_event("/kitchen/distribute"))
        await session.commit()


async def submit_original(client: httpx.AsyncClient) -> dict[str, Any]:
    created = await client.post("/api/v1/contents", json=policy(), headers=EDITOR)
    assert created.status_code == 202, created.text
    item: dict[str, Any] = (
        await client.get(f"/api/v1/contents/{created.json()['id']}", headers=EDITOR)
    ).json()
    return item


def request(original_id: str, obligation_id: str = "ro_1", **overrides: Any) -> ReprintRequested:
    values: dict[str, Any] = {
        "obligation_id": obligation_id,
        "original_id": original_id,
        "original_version": 1,
        "source_site": "province",
        "source_name": SOURCE_NAME,
        "original_url": f"https://www.sc.gov.cn/policies/{original_id}.html",
        "site": "city",
        "columns": ["policies"],
        "mode": "automatic",
        "requested_by": "rule:rr_1",
    }
    return ReprintRequested(**(values | overrides))


async def items_on(client: httpx.AsyncClient, site: str) -> list[ContentItem]:
    app = client.app  # type: ignore[attr-defined]
    async with app.state.db.sessions() as session:
        query = select(ContentItem).where(col(ContentItem.site) == site)
        return list(await session.exec(query))


async def ingested_of(database_url: str, content_id: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in await outbox_events(database_url)
        if e["topic"] == "content.ingested" and e["data"]["content_id"] == content_id
    ]


async def test_reprint_is_made_once_per_obligation(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    original = await submit_original(ingest_client)
    await handle(ingest_client, request(original["id"]))
    await handle(ingest_client, request(original["id"]))  # redelivered: nothing new

    [made] = await items_on(ingest_client, "city")
    item = (await ingest_client.get(f"/api/v1/contents/{made.id}", headers=EDITOR)).json()
    assert item["is_reprint"] is True and item["relations"]["reprint_of"] == original["id"]
    assert item["title"] == original["title"] and item["body_text"] == original["body_text"]
    assert item["columns"] == ["policies"] and item["publisher"] == original["publisher"]
    [source] = item["sources"]
    assert source["channel"] == "reprint" and source["name"] == SOURCE_NAME
    assert source["url"] == f"https://www.sc.gov.cn/policies/{original['id']}.html"
    assert source["external_id"] == "ro_1" and source["actor"] == "rule:rr_1"

    [announced] = await ingested_of(database_url, made.id)
    assert announced["reprint_of"] == original["id"] and announced["is_reprint"] is True
    assert announced["site"] == "city" and announced["columns"] == ["policies"]
    [own] = await ingested_of(database_url, original["id"])
    assert own["reprint_of"] is None

    # another lower site's obligation for the same original is a reprint of its own
    await handle(ingest_client, request(original["id"], "ro_2", site="county"))
    assert len(await items_on(ingest_client, "county")) == 1
    assert len(await items_on(ingest_client, "city")) == 1


async def test_reprint_follows_its_original_down(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    original = await submit_original(ingest_client)
    await handle(ingest_client, request(original["id"]))
    [made] = await items_on(ingest_client, "city")
    asked = ReprintRetractionRequested(
        obligation_id="ro_1",
        original_id=original["id"],
        reprint_id=made.id,
        site="city",
        reason="原稿有误",
    )
    await handle(ingest_client, asked)  # the reprint is still in review: retracted all the same
    await handle(ingest_client, asked)  # redelivered: retracted once

    item = (await ingest_client.get(f"/api/v1/contents/{made.id}", headers=EDITOR)).json()
    assert item["status"] == "retracted" and item["retracted_version"] == 1
    assert item["status_reason"] == "原稿已撤回：原稿有误"
    takedowns = [
        e["data"]
        for e in await outbox_events(database_url)
        if e["topic"] == "content.retraction_requested"
    ]
    assert takedowns == [
        {"content_id": made.id, "reason": "原稿已撤回：原稿有误", "requested_by": "reprint:ro_1"}
    ]


async def test_no_reprint_of_a_retracted_original(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    original = await submit_original(ingest_client)
    await publish(database_url, original["id"])
    taken_down = await retract(ingest_client, original["id"], {"reason": "内容有误"})
    assert taken_down.status_code == 202, taken_down.text
    await handle(ingest_client, request(original["id"]))  # crossed the retraction
    assert await items_on(ingest_client, "city") == []
    unknown = request("0" * 32, "ro_9")
    await handle(ingest_client, unknown)  # an original this library never had: nothing
    assert await items_on(ingest_client, "city") == []
