"""Search in both scripts, substrings across words, filters, facets, snippets, order, cursors,
and the public portal search of published items only — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from common.db import Database
from common.events import ContentPublished, utcnow
from common.migrations import alembic_config
from services.ingest.consumers import on_content_published
from services.ingest.search import pg, query
from services.ingest.search.query import tsquery
from services.ingest.search.tokens import query_terms
from services.ingest.status import record_status
from tests.integration.ingest.helpers import EDITOR, policy, traditional

MIGRATIONS = Path(__file__).parents[3] / "services" / "ingest" / "migrations"
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


async def publish(database_url: str, content_id: str, version: int) -> None:
    """As the worker does on `content.published` (the consumer's handler, in its transaction)."""
    event = ContentPublished(
        content_id=content_id,
        version=version,
        content_hash="",
        targets=["province"],
        published_at=utcnow(),
    ).to_event("/kitchen/distribute")
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            await on_content_published(session, event)
            await session.commit()
    finally:
        await database.dispose()


def public_ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_public_search_keeps_the_published_version_until_the_edit_is_published(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    v1 = {**NOTICE, "title": "关于开展森林防火专项检查的通知",
          "body_text": "各乡镇：\n为做好森林防火工作，决定开展专项检查。\n县应急管理局\n2019年2月1日"}  # fmt: skip  # noqa: E501
    v2 = {**NOTICE, "title": "关于开展防汛抗旱工作督查的通知",
          "body_text": "各乡镇：\n为做好防汛抗旱工作，决定开展督查。\n县应急管理局\n2019年5月1日"}  # fmt: skip  # noqa: E501
    item_id = (await ingest_client.post("/api/v1/contents", json=v1, headers=EDITOR)).json()["id"]
    url = "/api/v1/sites/province/search"
    assert public_ids(await ingest_client.get(url, params={"q": "森林防火"})) == set()
    await publish(database_url, item_id, 1)
    assert public_ids(await ingest_client.get(url, params={"q": "森林防火"})) == {item_id}
    edited = await ingest_client.post(
        f"/api/v1/contents/{item_id}/versions", json=v2, headers=EDITOR
    )
    assert edited.status_code == 202 and edited.json()["version"] == 2
    # Public: still the published v1 — its words are found, the edit's are not.
    found = await ingest_client.get(url, params={"q": "森林防火"})
    assert public_ids(found) == {item_id}
    [hit] = found.json()["items"]
    assert hit["title"] == v1["title"] and "森林防火" in hit["snippet"]
    assert "防汛" not in hit["snippet"] and "<mark>" in hit["title_highlighted"]
    assert public_ids(await ingest_client.get(url, params={"q": "防汛抗旱"})) == set()
    by_date = await ingest_client.get(url, params={"q": "森林 检查", "order": "date"})
    assert public_ids(by_date) == {item_id}
    # Staff: the current v2.
    staff_url = "/api/v1/contents"
    assert public_ids(
        await ingest_client.get(staff_url, params={"q": "防汛抗旱"}, headers=EDITOR)
    ) == {item_id}
    assert (
        public_ids(await ingest_client.get(staff_url, params={"q": "森林防火"}, headers=EDITOR))
        == set()
    )
    # A late `content.published` of v1 (after the edit) keeps public search on v1 too.
    await publish(database_url, item_id, 1)
    assert public_ids(await ingest_client.get(url, params={"q": "森林防火"})) == {item_id}
    # Publishing v2 switches public search over.
    await publish(database_url, item_id, 2)
    assert public_ids(await ingest_client.get(url, params={"q": "防汛抗旱"})) == {item_id}
    assert public_ids(await ingest_client.get(url, params={"q": "森林防火"})) == set()


async def test_a_late_publication_of_an_older_version_is_searchable(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    v1 = {**NOTICE, "title": "关于做好春季植树造林工作的通知",
          "body_text": "各乡镇：\n请认真组织春季植树造林。\n县林业局\n2019年3月1日"}  # fmt: skip
    v2 = {**NOTICE, "title": "关于做好秋季秸秆禁烧工作的通知",
          "body_text": "各乡镇：\n请切实抓好秋季秸秆禁烧。\n县林业局\n2019年9月1日"}  # fmt: skip
    item_id = (await ingest_client.post("/api/v1/contents", json=v1, headers=EDITOR)).json()["id"]
    await ingest_client.post(f"/api/v1/contents/{item_id}/versions", json=v2, headers=EDITOR)
    # v1's `content.published` arrives only after v2 was submitted: v1 is what the portal shows.
    await publish(database_url, item_id, 1)
    url = "/api/v1/sites/province/search"
    found = await ingest_client.get(url, params={"q": "植樹造林"})  # Traditional query, too
    assert public_ids(found) == {item_id}
    assert found.json()["items"][0]["title"] == v1["title"]
    assert public_ids(await ingest_client.get(url, params={"q": "秸秆禁烧"})) == set()
    item = (await ingest_client.get(f"/api/v1/contents/{item_id}", headers=EDITOR)).json()
    assert item["version"] == 2 and item["published_version"] == 1


async def test_the_migration_backfills_public_rows_of_published_items(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    ids = await seed(ingest_client)
    await publish(database_url, ids["trad"], 1)  # published, unchanged since
    await publish(database_url, ids["notice"], 1)  # published, then edited
    v2 = {**NOTICE, "title": "关于开展汛期地质灾害排查的通知",
          "body_text": "各乡镇人民政府：\n决定开展汛期地质灾害隐患排查。\n县自然资源局\n2018年6月1日"}  # fmt: skip  # noqa: E501
    await ingest_client.post(f"/api/v1/contents/{ids['notice']}/versions", json=v2, headers=EDITOR)

    def migrate(connection: Connection, revision: str) -> None:
        config = alembic_config(MIGRATIONS)
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, "head")
        else:
            command.downgrade(config, revision)

    database = Database(database_url)
    try:  # back to before the public index existed, then up again: the backfill runs
        async with database.engine.begin() as conn:
            await conn.run_sync(migrate, "9b803de85eb5")
        async with database.engine.begin() as conn:
            await conn.run_sync(migrate, "head")
    finally:
        await database.dispose()
    url = "/api/v1/sites/province/search"
    assert public_ids(await ingest_client.get(url, params={"q": "政府網站"})) == {ids["trad"]}
    assert public_ids(await ingest_client.get(url, params={"q": "安全生产大检查"})) == {
        ids["notice"]
    }
    assert public_ids(await ingest_client.get(url, params={"q": "地质灾害"})) == set()


def doc(title: str, body: str, **overrides: str) -> dict[str, object]:
    return {**NOTICE, "title": title, "body_text": body, **overrides}


async def test_phrases_need_adjacency_and_pages_facets_agree_on_both_databases(
    ingest_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the PostgreSQL two-stage plan: its candidates (all bigrams, anywhere) must be
    narrowed to real phrase matches, in the right order, with the same facets as SQLite."""
    bodies = [
        ("网站建设通知一", "请加强网站建设。\n2019年1月1日", "news"),
        ("网站建设通知二", "继续推进网站建设工作。\n2019年2月1日", "news"),
        ("网站建设通知三", "网站建设要规范。\n2019年3月1日", "notices"),
        # Every bigram of 网站建设 is here, but never adjacent: not a match.
        ("零散字词的通知", "门户网站。车站建成。城市建设。\n2019年4月1日", "notices"),
    ]
    ids = []
    for title, body, column in bodies:
        response = await ingest_client.post(
            "/api/v1/contents",
            json=doc(title, body, columns=[column], kind="news" if column == "news" else "notice"),
            headers=EDITOR,
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    url = "/api/v1/contents"
    ranked = (await ingest_client.get(url, params={"q": "网站建设"}, headers=EDITOR)).json()
    assert {i["id"] for i in ranked["items"]} == set(ids[:3])
    assert ranked["facets"]["kind"] == {"news": 2, "notice": 1}
    assert "_truncated" not in ranked["facets"]
    # The single-bigram query is answered by the candidates alone: all four.
    single = (await ingest_client.get(url, params={"q": "建设"}, headers=EDITOR)).json()
    assert {i["id"] for i in single["items"]} == set(ids)
    # Date order with a cursor walks the same three matches, newest first, one per page.
    seen, cursor = [], None
    for _ in range(4):
        params: dict[str, str | int] = {"q": "网站建设", "order": "date", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = (await ingest_client.get(url, params=params, headers=EDITOR)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[2], ids[1], ids[0]]
    # Relevance pages with a cursor: same set, no repeats.
    first = (
        await ingest_client.get(url, params={"q": "网站建设", "limit": 2}, headers=EDITOR)
    ).json()
    rest = (
        await ingest_client.get(
            url,
            params={"q": "网站建设", "limit": 2, "cursor": first["next_cursor"]},
            headers=EDITOR,
        )
    ).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == [i["id"] for i in ranked["items"]]
    # Filters apply before verification: the column and the date range.
    news = (
        await ingest_client.get(url, params={"q": "网站建设", "column": "news"}, headers=EDITOR)
    ).json()
    assert {i["id"] for i in news["items"]} == set(ids[:2])
    march = {"q": "网站 建设", "date_from": "2019-02-15", "date_to": "2019-12-31"}
    assert {
        i["id"]
        for i in (await ingest_client.get(url, params=march, headers=EDITOR)).json()["items"]
    } == {ids[2], ids[3]}
    # A facet window smaller than the matches says so.
    monkeypatch.setattr(query, "FACET_WINDOW", 2)
    capped = (await ingest_client.get(url, params={"q": "网站建设"}, headers=EDITOR)).json()
    assert capped["facets"]["_truncated"] == {"limit": 2}
    assert sum(capped["facets"]["kind"].values()) == 2


async def test_postgres_search_plans_use_the_index_not_a_scan_of_every_tsvector(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    """A sequential scan evaluates `tsv @@ q` on every row (detoasting each tsvector): the
    pre-fix p99. The planner picks it for small or rarely-matching tables unless steered."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL plans only")
    await seed(ingest_client)
    terms = query_terms("政府网站 信息")
    params = {"q": tsquery(terms), "lq": pg.candidate_query(terms), "window": 1000,
              "limit": 21, "offset": 0, "block": 7}  # fmt: skip
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            await pg.steer_planner(session)
            for sql in (
                pg.ranked_page_sql("search_doc", "", True, recent=False),
                pg.ranked_page_sql("search_doc", "", True, recent=True),
                pg.date_page_sql("search_doc", "", True, params, {}),
            ):
                plan = "\n".join(
                    r[0] for r in (await session.execute(text("EXPLAIN " + sql), params)).all()
                )
                assert "ix_search_doc_tsv_block" in plan, plan
                assert "Seq Scan on search_doc" not in plan, plan
            # The newest-blocks probe is answered inside the index: the block range is an
            # index condition next to the terms, not a filter applied to every match.
            recent = pg.ranked_page_sql("search_doc", "", True, recent=True)
            plan = "\n".join(
                r[0] for r in (await session.execute(text("EXPLAIN " + recent), params)).all()
            )
            assert "Index Cond: ((tsv @@ " in plan and "((id / 1024) >= " in plan, plan
    finally:
        await database.dispose()
    assert pg.candidate_query(terms) == "'政府' & '府网' & '网站' & '信息'"
    assert pg.needs_verification(terms) and not pg.needs_verification(query_terms("政府 信息"))
    assert pg.candidate_query(query_terms("年 abc")) == "'年':* & 'abc':*"


async def test_sqlite_search_walks_the_full_text_index_first_under_item_filters(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    """With an item filter (site, kind…) SQLite's planner preferred walking the filtered items
    and running the whole MATCH once per item, every item times every match: the facet count
    of a portal search took 20–60 ms at 300 notices. Every statement a search runs — page,
    date page and facets, staff and public — must scan the full-text table first."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite plans only")
    await seed(ingest_client)
    database = Database(database_url)
    statements: list[tuple[str, object]] = []

    def capture(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if " MATCH " in statement:
            statements.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    filters = query.SearchFilters(
        site="province", kind="notice", publisher="县安全生产委员会办公室"
    )
    try:
        async with database.sessions() as session:
            for public in (False, True):
                for order in ("relevance", "date"):
                    await query.search(session, "安全 生产", filters, order=order, public=public)
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
        assert len(statements) == 8  # a page and the facets, per order and index
        async with database.engine.connect() as conn:
            for statement, parameters in statements:
                plan = (
                    await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                ).all()
                steps = [row[3] for row in plan if row[3].startswith(("SCAN", "SEARCH"))]
                first = steps[0]  # the outermost loop: plans list tables outer to inner
                assert first.startswith(("SCAN content_fts", "SCAN published_fts")), (
                    statement,
                    plan,
                )
    finally:
        await database.dispose()


async def test_ranked_postgres_search_probes_the_newest_id_blocks_and_finds_the_same_page(
    ingest_client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window of the newest matches is found block range by block range: a probe counts
    only verified matches, and a probe that does not fill the window gives way to a wider one.
    Whatever the probes do, the page is the one the unbounded query returns."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL plans only")
    bodies = [
        ("网站建设通知一", "请加强网站建设。\n2019年1月1日"),
        ("网站建设通知二", "继续推进网站建设工作。\n2019年2月1日"),
        ("网站建设通知三", "网站建设要规范。\n2019年3月1日"),
        ("零散字词的通知", "门户网站。车站建成。城市建设。\n2019年4月1日"),
    ]
    ids = []
    for title, body in bodies:
        response = await ingest_client.post(
            "/api/v1/contents", json=doc(title, body), headers=EDITOR
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    database = Database(database_url)
    try:
        async with database.engine.begin() as conn:
            # The last two rows (one real match, one with the bigrams apart) move 40 blocks up,
            # so the first probe (newest 2 blocks) sees only them and the older two are far below.
            await conn.execute(
                text("UPDATE search_doc SET id = id + :shift WHERE content_id = ANY(:ids)"),
                {"shift": 40 * pg.ID_BLOCK, "ids": ids[2:]},
            )

        async def page(q: str, window: int) -> list[str]:
            async with database.sessions() as session:
                found = await query.search(session, q, query.SearchFilters(), rank_window=window)
            return [hit["id"] for hit in found.hits]

        cases = [("网站建设", 1, {ids[2]}), ("网站建设", 2, {ids[2], ids[1]}),
                 ("网站建设", 3, set(ids[:3])), ("建设", 2, {ids[2], ids[3]})]  # fmt: skip
        probed = [await page(q, window) for q, window, _ in cases]
        assert [set(hits) for hits in probed] == [expected for _, _, expected in cases]
        monkeypatch.setattr(pg, "PROBE_BLOCKS", ())
        assert [await page(q, window) for q, window, _ in cases] == probed
    finally:
        await database.dispose()
