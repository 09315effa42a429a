"""Search in both scripts, substrings across words, filters, facets, snippets, order, cursors,
and the public portal search of published items only — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import httpx

from common.db import Database
from services.ingest.service import record_status
from tests.integration.ingest.helpers import EDITOR, policy, traditional

NOTICE = {
    "title": "关于开展2018年度安全生产大检查的通知",
    "body_text": (
        "各乡镇人民政府：\n为切实做好安全生产工作，决定开展安全生产大检查。"
        "各单位要全面排查隐患。\n县安全生产委员会办公室\n2018年3月1日"
    ),
    "kind": "notice",
    "site": "province",
    "columns": ["notices"],
    "publisher": "县安全生产委员会办公室",
}


async def seed(client: httpx.AsyncClient) -> dict[str, str]:
    ids = {}
    for name, body in (("policy", policy()), ("trad", traditional()), ("notice", NOTICE)):
        response = await client.post("/api/v1/contents", json=body, headers=EDITOR)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    return ids


async def search(client: httpx.AsyncClient, **params: str) -> dict:  # type: ignore[type-arg]
    response = await client.get("/api/v1/contents", params=params, headers=EDITOR)
    assert response.status_code == 200, response.text
    return response.json()


def ids_of(result: dict) -> set[str]:  # type: ignore[type-arg]
    return {item["id"] for item in result["items"]}


async def test_both_scripts_substrings_and_two_character_queries(
    ingest_client: httpx.AsyncClient,
) -> None:
    ids = await seed(ingest_client)
    # Simplified query finds the Traditional document and the reverse.
    assert ids_of(await search(ingest_client, q="政府网站")) == {ids["policy"], ids["trad"]}
    assert ids_of(await search(ingest_client, q="政府網站")) == {ids["policy"], ids["trad"]}
    assert ids_of(await search(ingest_client, q="重庆")) == {ids["trad"]}
    # Two characters, a single character, and a substring across jieba words (府网).
    assert ids["notice"] in ids_of(await search(ingest_client, q="隐患"))
    assert ids_of(await search(ingest_client, q="府网")) == {ids["policy"], ids["trad"]}
    assert ids["notice"] in ids_of(await search(ingest_client, q="患"))
    # Several terms must all match; a term found nowhere matches nothing.
    assert ids_of(await search(ingest_client, q="网站 转载")) == {ids["policy"]}
    assert ids_of(await search(ingest_client, q="网站 宇宙飞船")) == set()
    # 文号 and numbers are searchable too.
    assert ids_of(await search(ingest_client, q="2017")) >= {ids["policy"]}


async def test_snippets_facets_filters_order_and_cursor(ingest_client: httpx.AsyncClient) -> None:
    ids = await seed(ingest_client)
    result = await search(ingest_client, q="網站")
    snippet = next(i for i in result["items"] if i["id"] == ids["trad"])["snippet"]
    assert "<mark>網站</mark>" in snippet  # highlighted in the document's own script
    assert result["facets"]["kind"] == {"policy": 1, "notice": 1}
    assert result["facets"]["year"] == {"2019": 1, "2017": 1}
    assert result["facets"]["status"] == {"ingested": 2}
    filtered = await search(ingest_client, q="网站", kind="notice")
    assert ids_of(filtered) == {ids["trad"]}
    by_number = await search(ingest_client, q="网站", doc_number="渝府辦發[2019]64號")
    assert ids_of(by_number) == {ids["trad"]}
    dated = await search(ingest_client, q="网站", date_from="2018-01-01")
    assert ids_of(dated) == {ids["trad"]}
    newest = await search(ingest_client, q="网站", order="date", limit="1")
    assert [i["id"] for i in newest["items"]] == [ids["trad"]]
    older = await search(
        ingest_client, q="网站", order="date", limit="1", cursor=newest["next_cursor"]
    )
    assert [i["id"] for i in older["items"]] == [ids["policy"]] and older["next_cursor"] is None
    first = await search(ingest_client, q="网站", limit="1")
    second = await search(ingest_client, q="网站", limit="1", cursor=first["next_cursor"])
    assert ids_of(first) | ids_of(second) == {ids["policy"], ids["trad"]}
    # Relevance: the document whose title says 政府网站 ranks first for it.
    assert len(first["items"]) == 1
    bad = await ingest_client.get("/api/v1/contents", params={"q": "，。"}, headers=EDITOR)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "q"


async def test_staff_scope_and_public_search_of_published_items(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    ids = await seed(ingest_client)
    public = await ingest_client.get("/api/v1/sites/province/search", params={"q": "网站"})
    assert public.status_code == 200 and public.json()["items"] == []
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            await record_status(session, ids["trad"], 1, "published")
            await session.commit()
    finally:
        await database.dispose()
    public = await ingest_client.get("/api/v1/sites/province/search", params={"q": "政府網站"})
    [hit] = public.json()["items"]
    assert hit["id"] == ids["trad"] and "status" not in hit and "<mark>" in hit["snippet"]
    other = await ingest_client.get("/api/v1/sites/city/search", params={"q": "网站"})
    assert other.json()["items"] == []
    from common.testing import staff

    city_editor = staff("c", ("editor",), sites=["city"])
    scoped = await ingest_client.get("/api/v1/contents", params={"q": "网站"}, headers=city_editor)
    assert scoped.json()["items"] == []
    assert (await ingest_client.get("/api/v1/contents", params={"q": "网站"})).status_code == 401
