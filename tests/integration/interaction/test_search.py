"""Full-text search of published cases and the knowledge base: same answers on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import event

from common.migrations import alembic_config
from services.interaction import knowledge
from services.interaction.clock import FixedClock
from tests.integration.interaction.conftest import HANDLER, OFFICE, OFFICE2
from tests.integration.interaction.test_features import replied_case

MIGRATIONS = Path(knowledge.__file__).parent / "migrations"


async def published(client: httpx.AsyncClient, clock: FixedClock, **overrides: Any) -> str:
    created = await replied_case(client, clock, **overrides)
    number = created["number"]
    draft = await client.post(f"/api/v1/cases/{number}/publication", json={}, headers=OFFICE)
    assert draft.status_code == 200, draft.text
    approved = await client.post(f"/api/v1/cases/{number}/publication/approve", headers=OFFICE2)
    assert approved.status_code == 200, approved.text
    return number


async def found(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    response = await client.get("/api/v1/cases", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [i["number"] for i in response.json()["items"]]


async def test_public_case_search_uses_the_index(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    school = await published(
        client, clock, title="学校门口交通拥堵", body="放学时学校门口车辆拥堵，请增设协管员。"
    )
    park = await published(
        client,
        clock,
        title="公园路灯不亮",
        body="人民公园东门的路灯坏了三天，晚上散步不安全。",
        phone="13900000002",
    )
    # a draft is not public and not searchable
    draft = (await replied_case(client, clock, title="学校食堂", body="学校食堂饭菜太贵了。"))[
        "number"
    ]
    await client.post(f"/api/v1/cases/{draft}/publication", json={}, headers=OFFICE)

    assert sorted(await found(client, "协管员")) == sorted([school, park])  # in both replies
    assert await found(client, "拥堵") == [school]
    assert await found(client, "擁堵") == [school]  # Traditional finds Simplified
    assert await found(client, "路灯") == [park]  # two characters: the common query
    assert sorted(await found(client, "门")) == sorted([school, park])  # one character
    assert await found(client, "学校") == [school]  # the draft is not listed
    assert await found(client, "学校 协管员") == [school]  # every term must occur
    assert await found(client, "学校 路灯") == []
    assert await found(client, "堵拥") == []  # a phrase, not a bag of bigrams
    assert await found(client, "东门路灯") == []  # not a substring of the text
    assert await found(client, "东门的路灯") == [park]
    assert await found(client, "，。") == []  # nothing searchable
    assert await found(client, "13812345678") == []  # the masked text only
    assert await found(client, "路灯", department="edu") == [park]
    assert await found(client, "路灯", kind="complaint") == []

    page = (await client.get("/api/v1/cases", params={"q": "门", "limit": 1})).json()
    assert page["items"][0]["number"] == park and page["next_cursor"]  # newest first
    rest = await found(client, "门", limit=1, cursor=page["next_cursor"])
    assert rest == [school]


async def entry(client: httpx.AsyncClient, **body: Any) -> int:
    response = await client.post("/api/v1/knowledge", json=body, headers=OFFICE)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_knowledge_ranked_by_the_index_never_lapsed(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    exact = await entry(
        client, question="社保卡丢失后如何补办？", answer="到社保窗口补办。", tags=["社保卡"]
    )
    partial = await entry(
        client, question="社保缴费基数如何调整？", answer="每年七月调整。", tags=["社保"]
    )
    await entry(
        client,
        question="社保卡丢失后如何补办？",
        answer="旧规定。",
        tags=["社保卡"],
        valid_from="2020-01-01",
        valid_until="2024-12-31",
    )
    await entry(client, question="公积金如何提取？", answer="线上提取。", tags=["公积金"])
    items = (await client.get("/api/v1/knowledge", params={"q": "社保卡丢了怎么补办"})).json()[
        "items"
    ]
    assert [i["id"] for i in items] == [exact, partial]
    assert items[0]["rank"] > items[1]["rank"]
    assert "旧规定。" not in [i["answer"] for i in items]
    traditional = (await client.get("/api/v1/knowledge", params={"q": "社保卡補辦"})).json()
    assert traditional["items"][0]["id"] == exact
    assert (await client.get("/api/v1/knowledge", params={"q": "路灯"})).json()["items"] == []


async def test_sqlite_knowledge_search_walks_the_full_text_index_first(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    """Under a department filter the statement scans the full-text table first (a walk of the
    entries would run the MATCH once per entry), and finds only that department's entry."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite plans only")
    kept = await entry(
        client, question="路灯坏了找谁？", answer="找城管。", tags=["路灯"], department="城管局"
    )
    await entry(client, question="路灯坏了找谁？", answer="找街道。", department="街道办")
    engine = app.state.db.engine.sync_engine
    statements: list[tuple[str, Any]] = []

    def capture(_c: object, _k: object, statement: str, parameters: Any, *_: object) -> None:
        if " MATCH " in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        params = {"q": "路灯坏了", "department": "城管局"}
        items = (await client.get("/api/v1/knowledge", params=params)).json()["items"]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert [i["id"] for i in items] == [kept]
    assert len(statements) == 1
    async with app.state.db.engine.connect() as conn:
        statement, parameters = statements[0]
        plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
    steps = [row[3] for row in plan if row[3].startswith(("SCAN", "SEARCH"))]
    assert steps[0].startswith("SCAN knowledge_fts"), plan


async def test_knowledge_candidates_are_bounded(
    client: httpx.AsyncClient, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    oldest = await entry(client, question="学校门口交通拥堵怎么办？", answer="协管员。")
    newer = [
        await entry(client, question=f"学校第{n}项收费标准", answer="按规定。") for n in range(2)
    ]
    case = await replied_case(client, clock, title="学校门口交通拥堵", body="学校门口很堵。")
    path = f"/api/v1/cases/{case['number']}/suggestions"
    items = (await client.get(path, headers=HANDLER)).json()["items"]
    assert items[0]["id"] == oldest
    monkeypatch.setattr(knowledge, "CANDIDATE_WINDOW", 2)  # only the newest two are ranked
    items = (await client.get(path, headers=HANDLER)).json()["items"]
    assert oldest not in [i["id"] for i in items] and {i["id"] for i in items} <= set(newer)


async def test_migration_indexes_existing_rows(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    """Down to the revision before the index and up again: existing rows are searchable."""
    number = await published(client, clock, title="公园路灯不亮", body="东门路灯坏了三天。")
    kept = await entry(client, question="路灯坏了找谁？", answer="找城管。", tags=["路灯"])

    def migrate(connection: Any, target: str) -> None:
        config = alembic_config(MIGRATIONS)
        config.attributes["connection"] = connection
        (command.downgrade if target != "head" else command.upgrade)(config, target)

    async with app.state.db.engine.begin() as conn:
        await conn.run_sync(migrate, "24761a67612a")
    async with app.state.db.engine.begin() as conn:
        await conn.run_sync(migrate, "head")
    assert await found(client, "路灯") == [number]
    items = (await client.get("/api/v1/knowledge", params={"q": "路灯坏了"})).json()["items"]
    assert [i["id"] for i in items] == [kept]
