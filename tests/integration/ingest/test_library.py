"""The REST path through the whole pipeline: cleaning, metadata, versions, duplicates, relations."""

from __future__ import annotations

import httpx

from tests.integration.ingest.helpers import (
    EDITOR,
    EDITOR2,
    fixture,
    outbox_events,
    policy,
    traditional,
)


async def submit(client: httpx.AsyncClient, body: dict, headers: dict = EDITOR) -> httpx.Response:  # type: ignore[type-arg]
    return await client.post("/api/v1/contents", json=body, headers=headers)


async def get(client: httpx.AsyncClient, item_id: str) -> dict:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/contents/{item_id}", headers=EDITOR)
    assert response.status_code == 200, response.text
    return response.json()


async def test_dirty_page_becomes_a_clean_item_with_unified_metadata(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    response = await submit(ingest_client, policy())
    assert response.status_code == 202, response.text
    item = await get(ingest_client, response.json()["id"])
    assert item["doc_number"] == "苏政办发〔2017〕96号"
    assert item["written_at"] == "2017-06-10" and item["topic"] == "政务公开"
    assert item["script"] == "simplified" and item["disclosure"] == "主动公开"
    assert item["validity"] == "effective" and len(item["summary"]) <= 100
    assert item["index_no"].endswith("/2017-00001")
    assert "扫一扫" not in item["body_text"] and "<script" not in item["body_html"]
    assert {s["step"] for s in item["cleaning"]} >= {"page_chrome", "empty_markup", "sanitize"}
    assert [c["doc_number"] for c in item["relations"]["cites"]] == [
        "国办发〔2014〕57号",
        "国办发〔2017〕47号",
    ]
    assert item["sources"][0]["channel"] == "rest" and item["sources"][0]["raw_sha256"]
    raw = await ingest_client.get(f"/api/v1/contents/{item['id']}/versions/1/raw", headers=EDITOR)
    assert policy_raw_is_exact(raw.content)
    [event] = await outbox_events(database_url)
    assert event["data"]["index_no"] == item["index_no"]
    assert event["data"]["written_at"] == "2017-06-10"


def policy_raw_is_exact(raw: bytes) -> bool:
    import orjson

    return orjson.loads(raw) == policy()


async def test_index_numbers_are_unique_per_publisher_and_year(
    ingest_client: httpx.AsyncClient,
) -> None:
    numbers = []
    for n in range(3):
        body = traditional(title=f"通知{n}", body_text=f"第{n}号通知：各单位做好网站维护工作。")
        numbers.append(
            (await get(ingest_client, (await submit(ingest_client, body)).json()["id"]))["index_no"]
        )
    serials = [n.rsplit("-", 1)[1] for n in numbers]
    assert len(set(numbers)) == 3 and serials == sorted(serials)


async def test_defaced_item_is_quarantined_until_an_editor_releases_it(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    body = policy(
        title="365体育投注官网关于做好2018年政府信息公开工作的通知",
        body_html=fixture("defaced_page.html"),
        kind="notice",
        columns=["notices"],
    )
    accepted = (await submit(ingest_client, body)).json()
    assert accepted["status"] == "quarantined"
    item = await get(ingest_client, accepted["id"])
    assert item["status"] == "quarantined" and "博彩" in item["quarantine"]["reason"]
    rules = {(s["rule"], s["where"]) for s in item["quarantine"]["spans"]}
    assert {("gambling", "title"), ("gambling", "text"), ("hidden_link", "raw")} <= rules
    assert await outbox_events(database_url) == []  # never reaches review
    released = await ingest_client.post(
        f"/api/v1/contents/{accepted['id']}/release", json={"note": "已核实"}, headers=EDITOR
    )
    assert released.status_code == 200 and released.json()["status"] == "ingested"
    [event] = await outbox_events(database_url)
    assert event["data"]["content_id"] == accepted["id"]
    again = await ingest_client.post(
        f"/api/v1/contents/{accepted['id']}/release", json={}, headers=EDITOR
    )
    assert again.status_code == 409


async def test_an_edit_is_a_new_version_with_diff_and_author(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    first = (await submit(ingest_client, traditional())).json()
    edited = traditional(body_text=fixture("traditional_pinyin.txt").replace("3次", "5次"))
    response = await ingest_client.post(
        f"/api/v1/contents/{first['id']}/versions", json=edited, headers=EDITOR2
    )
    assert response.status_code == 202, response.text
    assert response.json()["version"] == 2
    assert response.json()["content_hash"] != first["content_hash"]
    versions = (
        await ingest_client.get(f"/api/v1/contents/{first['id']}/versions", headers=EDITOR)
    ).json()["items"]
    assert [v["author"] for v in versions] == ["editor", "editor2"]
    assert "-" in versions[1]["diff"] and "5次" in versions[1]["diff"]
    events = await outbox_events(database_url)
    assert [e["data"]["version"] for e in events] == [1, 2]
    put = await ingest_client.put(
        f"/api/v1/contents/{first['id']}", json=traditional(), headers=EDITOR
    )
    assert put.json()["version"] == 3


async def test_same_document_from_two_sources_is_one_item_with_two_sources(
    ingest_client: httpx.AsyncClient,
) -> None:
    first = await submit(ingest_client, traditional())
    # The same text in Simplified, with other spacing, from another officer.
    from services.ingest.chinese import fold

    simplified = traditional(
        title=fold(traditional()["title"]), body_text=fold(fixture("traditional_pinyin.txt"))
    )
    second = await submit(ingest_client, simplified, EDITOR2)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"] and second.json()["outcome"] == "merged"
    item = await get(ingest_client, first.json()["id"])
    assert [s["actor"] for s in item["sources"]] == ["editor", "editor2"]


async def test_near_duplicate_reprint_and_copy_on_another_site(
    ingest_client: httpx.AsyncClient,
) -> None:
    original = (await submit(ingest_client, policy())).json()
    # Same page re-crawled with one sentence changed: near duplicate → merged.
    changed = policy(body_html=policy_body_changed())
    merged = await submit(ingest_client, changed, EDITOR2)
    assert merged.json()["outcome"] == "merged" and merged.json()["id"] == original["id"]
    item = await get(ingest_client, original["id"])
    assert 0.8 <= item["sources"][1]["similarity"] < 1.0
    # A declared reprint (转载) needs its source and is linked to the original.
    missing = await submit(ingest_client, policy(reprint_url="http://www.jiangsu.gov.cn/a.html"))
    assert missing.status_code == 422
    reprint = policy(
        reprint_source="江苏省人民政府网", reprint_url="http://www.jiangsu.gov.cn/a.html"
    )
    response = await submit(ingest_client, reprint)
    assert response.status_code == 202 and response.json()["outcome"] == "reprint"
    copy = await get(ingest_client, response.json()["id"])
    assert copy["relations"]["reprint_of"] == original["id"] and copy["is_reprint"]
    assert copy["sources"][0]["name"] == "江苏省人民政府网"
    assert (await get(ingest_client, original["id"]))["relations"]["reprinted_by"] == [copy["id"]]


def policy_body_changed() -> str:
    from tests.integration.ingest.helpers import policy_body

    return policy_body().replace("3个工作日内", "5个工作日内")


async def test_policy_and_interpretation_are_linked_both_ways_and_repeal_marks_validity(
    ingest_client: httpx.AsyncClient,
) -> None:
    old = traditional(
        title="省政府办公厅关于加强政府网站管理的通知",
        body_text="苏政办发[2015]12号\n各市、县人民政府：\n现就加强政府网站管理通知如下。各地要建立网站内容保障机制。",
        publisher="江苏省人民政府办公厅",
    )
    old_id = (await submit(ingest_client, old)).json()["id"]
    policy_id = (await submit(ingest_client, policy())).json()["id"]
    assert (await get(ingest_client, old_id))["validity"] == "repealed"
    interpretation = policy(
        title="《省政府办公厅关于进一步加强政府网站信息内容建设的实施意见》解读",
        body_html="<p>近日，省政府办公厅印发了《实施意见》（苏政办发〔2017〕96号）。现就有关内容解读如下。</p>",
        kind="interpretation",
        columns=["interpretations"],
    )
    interp_id = (await submit(ingest_client, interpretation)).json()["id"]
    assert (await get(ingest_client, interp_id))["relations"]["interprets"][0]["id"] == policy_id
    assert (await get(ingest_client, policy_id))["relations"]["interpreted_by"] == [interp_id]


async def test_interaction_hands_an_interview_transcript_in_through_an_event(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    from common.db import Database
    from common.events import ContentSubmitted
    from services.ingest.consumers import content_submitted_handler
    from services.ingest.settings import IngestSettings

    data = ContentSubmitted(
        submission_id="interview-2019-07",
        title="在线访谈：解读政府网站建设新要求",
        body_text="主持人：各位网友好。\n嘉宾：政府网站是政府联系群众的重要桥梁，今年要提升信息发布水平。",
        kind="interview",
        site="province",
        columns=["news"],
        publisher="省政府办公厅",
        author="interaction",
        source="interaction:interview:42",
    )
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            handler = content_submitted_handler(IngestSettings(database_url=database_url))
            await handler(session, data.to_event("/kitchen/interaction"))
            await session.commit()
    finally:
        await database.dispose()
    [item] = (await ingest_client.get("/api/v1/contents", headers=EDITOR)).json()["items"]
    full = await get(ingest_client, item["id"])
    assert full["kind"] == "interview" and full["sources"][0]["channel"] == "event"
    assert full["sources"][0]["external_id"] == "interview-2019-07"
    assert [e["topic"] for e in await outbox_events(database_url)] == ["content.ingested"]


async def test_an_interpretation_arriving_first_links_to_its_policy_later(
    ingest_client: httpx.AsyncClient,
) -> None:
    interpretation = policy(
        title="《省政府办公厅关于进一步加强政府网站信息内容建设的实施意见》政策解读",
        body_html="<p>一、出台背景。为提升全省政府网站信息发布水平，省政府办公厅制定了实施意见。</p>",
        kind="interpretation",
        columns=["interpretations"],
    )
    interp_id = (await submit(ingest_client, interpretation)).json()["id"]
    assert (await get(ingest_client, interp_id))["relations"]["interprets"][0]["id"] is None
    policy_id = (await submit(ingest_client, policy())).json()["id"]
    assert (await get(ingest_client, interp_id))["relations"]["interprets"][0]["id"] == policy_id
    assert (await get(ingest_client, policy_id))["relations"]["interpreted_by"] == [interp_id]
