"""Submitting content: stored first, announced through the outbox, bad input refused."""

from __future__ import annotations

import httpx
import orjson
from sqlalchemy import func, select

from common.db import Database
from common.testing import staff
from services.ingest.models import ContentItem, tables

EDITOR = staff("editor", ("editor",))
SUBMISSION = {
    "title": "关于进一步加强政府网站信息内容建设的通知",
    "body_text": "各区人民政府，市政府各委、办、局：\n为进一步加强政府网站信息内容建设……",
    "kind": "notice",
    "site": "province",
    "columns": ["notices"],
    "publisher": "省人民政府办公厅",
    "doc_number": "省政办发〔2017〕47号",
}


async def count_rows(database_url: str) -> tuple[int, int]:
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            items = (await conn.execute(select(func.count()).select_from(ContentItem))).scalar()
            events = (await conn.execute(select(func.count()).select_from(tables.outbox))).scalar()
            return int(items or 0), int(events or 0)
    finally:
        await database.dispose()


async def test_submission_is_stored_and_announced(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    response = await ingest_client.post("/api/v1/contents", json=SUBMISSION, headers=EDITOR)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["version"] == 1 and accepted["status"] == "ingested"

    item = (await ingest_client.get(f"/api/v1/contents/{accepted['id']}", headers=EDITOR)).json()
    assert item["title"] == SUBMISSION["title"]
    assert item["content_hash"] == accepted["content_hash"]
    assert "<p>各区人民政府" in item["body_html"]

    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            row = (await conn.execute(select(tables.outbox))).one()
    finally:
        await database.dispose()
    event = orjson.loads(row.payload)
    assert row.topic == "content.ingested" and row.key == accepted["id"]
    assert event["specversion"] == "1.0" and event["data"]["title"] == SUBMISSION["title"]


async def test_list_filters_by_column_and_paginates(ingest_client: httpx.AsyncClient) -> None:
    for n in range(3):
        body = {**SUBMISSION, "title": f"通知{n}", "columns": ["news" if n else "notices"]}
        assert (
            await ingest_client.post("/api/v1/contents", json=body, headers=EDITOR)
        ).status_code == 202
    page1 = (await ingest_client.get("/api/v1/contents?column=news&limit=1", headers=EDITOR)).json()
    assert [i["title"] for i in page1["items"]] == ["通知2"]
    page2 = (
        await ingest_client.get(
            f"/api/v1/contents?column=news&limit=1&cursor={page1['next_cursor']}", headers=EDITOR
        )
    ).json()
    assert [i["title"] for i in page2["items"]] == ["通知1"] and page2["next_cursor"] is None


async def test_bad_input_is_refused_and_writes_nothing(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    cases = [
        (b"{not json", {"content-type": "application/json"}, 400, "body"),
        (orjson.dumps({**SUBMISSION, "columns": "news"}), {}, 422, "body.columns"),
        (orjson.dumps({**SUBMISSION, "site": "atlantis"}), {}, 422, "site"),
        (orjson.dumps({**SUBMISSION, "columns": ["nope"]}), {}, 422, "columns"),
        (orjson.dumps({**SUBMISSION, "surprise": 1}), {}, 422, "body.surprise"),
        (orjson.dumps({**SUBMISSION, "body_text": "长" * 3_000_000}), {}, 413, "body"),
    ]
    for body, extra, status, field in cases:
        headers = {**EDITOR, "content-type": "application/json", **extra}
        response = await ingest_client.post("/api/v1/contents", content=body, headers=headers)
        assert response.status_code == status, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.text
    assert await count_rows(database_url) == (0, 0)


async def test_identity_and_role_are_enforced(ingest_client: httpx.AsyncClient) -> None:
    anonymous = await ingest_client.post("/api/v1/contents", json=SUBMISSION)
    assert anonymous.status_code == 401
    forged = {**EDITOR, "x-kitchen-actor-signature": "0" * 64}
    assert (
        await ingest_client.post("/api/v1/contents", json=SUBMISSION, headers=forged)
    ).status_code == 401
    reviewer = staff("reviewer1", ("reviewer",))
    assert (
        await ingest_client.post("/api/v1/contents", json=SUBMISSION, headers=reviewer)
    ).status_code == 403
    other_site = staff("editor", ("editor",), sites=["city"])
    assert (
        await ingest_client.post("/api/v1/contents", json=SUBMISSION, headers=other_site)
    ).status_code == 403
    assert (await ingest_client.get("/api/v1/contents/unknown", headers=EDITOR)).status_code == 404
