"""A submission names new-media accounts: kept with the version, carried in `content.ingested`."""

from __future__ import annotations

import httpx
import orjson
from sqlalchemy import select

from common.db import Database
from services.ingest.models import tables
from tests.integration.ingest.test_submission import EDITOR, SUBMISSION, count_rows

ACCOUNTS = ["acc_0123456789abcdef0123456789abcdef", "acc_fedcba9876543210fedcba9876543210"]


async def ingested_events(database_url: str) -> list[dict[str, object]]:
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            rows = (await conn.execute(select(tables.outbox).order_by(tables.outbox.c.id))).all()
    finally:
        await database.dispose()
    return [orjson.loads(r.payload)["data"] for r in rows if r.topic == "content.ingested"]


async def test_named_accounts_go_with_the_version_and_its_event(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    body = {**SUBMISSION, "accounts": ACCOUNTS}
    response = await ingest_client.post("/api/v1/contents", json=body, headers=EDITOR)
    assert response.status_code == 202, response.text
    item = response.json()
    version = await ingest_client.get(f"/api/v1/contents/{item['id']}/versions/1", headers=EDITOR)
    assert version.json()["accounts"] == ACCOUNTS

    plain = {**SUBMISSION, "title": "另一份通知", "body_text": "完全不同的正文内容。"}
    assert (await ingest_client.post("/api/v1/contents", json=plain, headers=EDITOR)).is_success
    named, unnamed = await ingested_events(database_url)
    assert named["content_id"] == item["id"] and named["accounts"] == ACCOUNTS
    assert unnamed["accounts"] == []
    # the accounts are a target like the columns: part of what the content hash binds
    assert named["content_hash"] == item["content_hash"]


async def test_bad_account_lists_are_refused_and_write_nothing(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    cases = [
        (["acc 1"], "body.accounts.0"),
        (["acc\n1"], "body.accounts.0"),
        (["a" * 41], "body.accounts.0"),
        ([f"acc_{n}" for n in range(21)], "body.accounts"),
        ("acc_1", "body.accounts"),
    ]
    for accounts, field in cases:
        body = {**SUBMISSION, "accounts": accounts}
        response = await ingest_client.post("/api/v1/contents", json=body, headers=EDITOR)
        assert response.status_code == 422, (accounts, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert await count_rows(database_url) == (0, 0)
