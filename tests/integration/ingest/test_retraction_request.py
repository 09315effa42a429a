"""撤稿 as a staff act: `POST /contents/{id}/retraction` makes the item `retracted`, writes
`content.retraction_requested` to the outbox and an audit entry in the same transaction, takes it
out of public search and makes its attachments 410 to the public; bad requests change nothing;
`kitchen contents retract` does the same from a shell."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import orjson
from sqlalchemy import select
from typer.testing import CliRunner

from common.db import Database
from common.events import ContentPublished, utcnow
from common.testing import staff
from kitchen.cli import app as cli
from services.ingest.consumers import on_content_published, on_review_decided
from services.ingest.models import AuditEntry, ContentItem
from tests.integration.ingest.helpers import ADMIN, EDITOR, outbox_events, traditional

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CITY_EDITOR = staff("city-editor", ("editor",), sites=["city"])
REVIEWER = staff("reviewer", ("reviewer",))
REASON = "数据有误，撤回更正"


async def submit(client: httpx.AsyncClient) -> tuple[str, str]:
    """A new item with one attachment: (id, the attachment's sha256)."""
    data = {"submission": orjson.dumps(traditional()).decode()}
    files = [("attachments", ("图.png", PNG, "image/png"))]
    created = await client.post("/api/v1/contents", data=data, files=files, headers=EDITOR)
    assert created.status_code == 202, created.text
    content_id = created.json()["id"]
    item = (await client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)).json()
    return content_id, item["attachments"][0]["sha256"]


async def publish(database_url: str, content_id: str, version: int = 1) -> None:
    """As the ingest worker does on `content.published` (the handler, in its transaction)."""
    event = ContentPublished(
        content_id=content_id, version=version, content_hash="", targets=["province"],
        published_at=utcnow(),
    ).to_event("/kitchen/distribute")  # fmt: skip
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            await on_content_published(session, event)
            await session.commit()
    finally:
        await database.dispose()


def search_ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["items"]}


async def retract(
    client: httpx.AsyncClient, content_id: str, body: object, headers: Mapping[str, str] = EDITOR
) -> httpx.Response:
    return await client.post(
        f"/api/v1/contents/{content_id}/retraction", json=body, headers=headers
    )


async def test_retraction_reaches_the_library_at_once(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    content_id, sha = await submit(ingest_client)
    await publish(database_url, content_id)
    public = await ingest_client.get("/api/v1/sites/province/search", params={"q": "政府網站"})
    assert content_id in search_ids(public)
    assert (await ingest_client.get(f"/api/v1/attachments/{sha}")).status_code == 200

    done = await retract(ingest_client, content_id, {"reason": f"  {REASON} "})
    assert done.status_code == 202, done.text
    answer = done.json()
    assert answer["status"] == "retracted" and answer["reason"] == REASON
    assert answer["retracted_version"] == 1 and answer["requested_by"] == "editor"

    item = (await ingest_client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)).json()
    assert item["status"] == "retracted" and item["status_reason"] == REASON
    assert item["retracted_version"] == 1
    assert item["history"][-1]["status"] == "retracted" and REASON in item["history"][-1]["detail"]
    [event] = [
        e for e in await outbox_events(database_url) if e["topic"].endswith("retraction_requested")
    ]
    assert event["topic"] == "content.retraction_requested" and event["subject"] == content_id
    assert event["data"] == {"content_id": content_id, "reason": REASON, "requested_by": "editor"}
    async with ingest_client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        audited = (await session.execute(select(AuditEntry))).scalars().all()
    assert [(e.actor, e.action, e.subject) for e in audited][-1] == (
        "editor", "content.retraction_requested", content_id,
    )  # fmt: skip

    public = await ingest_client.get("/api/v1/sites/province/search", params={"q": "政府網站"})
    assert content_id not in search_ids(public)
    gone = await ingest_client.get(f"/api/v1/attachments/{sha}")
    assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
    # the site's staff still read the file (it stays in the library)
    assert (await ingest_client.get(f"/api/v1/attachments/{sha}", headers=EDITOR)).content == PNG
    listed = await ingest_client.get(
        "/api/v1/contents", params={"status": "retracted"}, headers=EDITOR
    )
    assert [i["id"] for i in listed.json()["items"]] == [content_id]

    # late events about the retracted version change nothing: it is not published again
    await publish(database_url, content_id)
    async with ingest_client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        row = await session.get(ContentItem, content_id)
        assert row is not None and row.status == "retracted"
    public = await ingest_client.get("/api/v1/sites/province/search", params={"q": "政府網站"})
    assert content_id not in search_ids(public)

    again = await retract(ingest_client, content_id, {"reason": "再次撤稿"})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"
    assert "already retracted" in again.json()["detail"]
    events = await outbox_events(database_url)
    assert [e["topic"] for e in events].count("content.retraction_requested") == 1


async def test_bad_requests_change_nothing(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    content_id, sha = await submit(ingest_client)

    not_published = await retract(ingest_client, content_id, {"reason": REASON})
    assert not_published.status_code == 409
    assert "ingested" in not_published.json()["detail"]
    await publish(database_url, content_id)

    refusals = [
        ({}, EDITOR, 422, "reason"),
        ({"reason": "x"}, EDITOR, 422, "reason"),
        ({"reason": "撤" * 501}, EDITOR, 422, "reason"),
        ({"reason": "内容\u0000有误"}, EDITOR, 422, "reason"),
        ({"reason": "内容\n有误"}, EDITOR, 422, "reason"),
        ({"reason": REASON, "extra": 1}, EDITOR, 422, "extra"),
        ({"reason": REASON}, CITY_EDITOR, 403, "site"),
        ({"reason": REASON}, REVIEWER, 403, None),
    ]
    for body, headers, status, field in refusals:
        refused = await retract(ingest_client, content_id, body, headers)
        assert refused.status_code == status, (body, refused.text)
        if field is not None:
            assert field in refused.json()["errors"][0]["field"], refused.text
    assert (
        await ingest_client.post(f"/api/v1/contents/{content_id}/retraction")
    ).status_code == 401
    unknown = await retract(ingest_client, "nope", {"reason": REASON}, ADMIN)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "id"

    item = (await ingest_client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)).json()
    assert item["status"] == "published" and item["retracted_version"] is None
    topics = [e["topic"] for e in await outbox_events(database_url)]
    assert "content.retraction_requested" not in topics
    assert (await ingest_client.get(f"/api/v1/attachments/{sha}")).status_code == 200

    done = await retract(ingest_client, content_id, {"reason": REASON}, ADMIN)
    assert done.status_code == 202 and done.json()["requested_by"] == "admin"


async def test_an_approved_item_and_a_new_version_after_retraction(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    created = await ingest_client.post("/api/v1/contents", json=traditional(), headers=EDITOR)
    content_id = created.json()["id"]
    from common.events import ReviewDecided

    decided = ReviewDecided(
        content_id=content_id, version=1, content_hash="", task_id="t1", decision="approved",
        stage="终审", decided_by="reviewer", decided_at=utcnow(),
    ).to_event("/kitchen/review")  # fmt: skip
    async with ingest_client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        await on_review_decided(session, decided)
        await session.commit()
    done = await retract(ingest_client, content_id, {"reason": REASON}, ADMIN)
    assert done.status_code == 202, done.text
    # a corrected version goes through review again and may be published and retracted anew
    edit = {**traditional(), "body_text": traditional()["body_text"] + "\n更正：日期有误。"}
    revised = await ingest_client.put(f"/api/v1/contents/{content_id}", json=edit, headers=EDITOR)
    assert revised.status_code == 202, revised.text
    await publish(database_url, content_id, 2)
    item = (await ingest_client.get(f"/api/v1/contents/{content_id}", headers=EDITOR)).json()
    assert item["status"] == "published" and item["published_version"] == 2
    second = await retract(ingest_client, content_id, {"reason": "再次更正"})
    assert second.status_code == 202 and second.json()["retracted_version"] == 2


async def test_cli_retracts_on_the_library_database(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    content_id, sha = await submit(ingest_client)
    await publish(database_url, content_id)
    args = ["contents", "retract", content_id, "--reason", REASON, "--url", database_url]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    assert "retracted" in result.output
    [event] = [
        e for e in await outbox_events(database_url) if e["topic"] == "content.retraction_requested"
    ]
    assert event["data"]["reason"] == REASON and event["data"]["requested_by"].startswith("cli:")
    assert (await ingest_client.get(f"/api/v1/attachments/{sha}")).status_code == 410

    twice = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert twice.exit_code == 1 and "already retracted" in twice.output
    bad = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["contents", "retract", content_id, "--reason", "x", "--url", database_url],
    )
    assert bad.exit_code != 0
