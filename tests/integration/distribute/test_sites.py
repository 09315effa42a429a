"""The site directory: demo seed, public reads with ETags, admin changes, refusals."""

from __future__ import annotations

from sqlalchemy import func, select

from services.distribute.models import Site, SiteColumn
from services.distribute.seed import seed_demo_sites
from tests.integration.distribute.conftest import ADMIN, EDITOR, Distribute


async def test_demo_tree_is_seeded_once(distribute: Distribute) -> None:
    sites = (await distribute.client.get("/api/v1/sites")).json()
    assert [s["slug"] for s in sites["items"]] == ["city", "county", "province"]
    assert sites["next_cursor"] is None
    province = (await distribute.client.get("/api/v1/sites/province")).json()
    assert province["name"] == "四川省人民政府" and len(province["site_id_code"]) == 10
    assert (await distribute.client.get("/api/v1/sites/county")).json()["parent"] == "city"
    columns = (await distribute.client.get("/api/v1/sites/city/columns")).json()["items"]
    assert [(c["slug"], c["name"]) for c in columns] == [
        ("news", "要闻动态"),
        ("notices", "通知公告"),
        ("policies", "政策文件"),
        ("interpretations", "政策解读"),
        ("interviews", "在线访谈"),
    ]
    assert columns[0]["type"] == "news" and columns[0]["feeds"]["rss"] == "/feeds/city/news.rss"
    async with distribute.app.state.db.sessions() as session:
        assert await seed_demo_sites(session) is False
        count = (await session.execute(select(func.count()).select_from(SiteColumn))).scalar()
    assert count == 15


async def test_public_reads_carry_etags(distribute: Distribute) -> None:
    first = await distribute.client.get("/api/v1/sites/province/columns")
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = await distribute.client.get(
        "/api/v1/sites/province/columns", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


async def test_unknown_site_or_column_is_404_problem(distribute: Distribute) -> None:
    for path, field in [
        ("/api/v1/sites/nowhere", "site"),
        ("/api/v1/sites/nowhere/columns", "site"),
        ("/api/v1/sites/province/columns/nothing", "column"),
        ("/api/v1/sites/province/columns/nothing/items", "column"),
        ("/api/v1/sites/nowhere/columns/news/items", "site"),
        ("/feeds/province/nothing.rss", "column"),
        ("/feeds/province/news.xml", "format"),
    ]:
        response = await distribute.client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field, path


async def test_admin_creates_and_updates_sites_and_columns(distribute: Distribute) -> None:
    site = {
        "slug": "dept-edu",
        "name": "四川省教育厅",
        "domain": "edu.sc.gov.cn",
        "site_id_code": "5100000042",
        "parent": "province",
    }
    created = await distribute.client.post("/api/v1/sites", json=site, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/sites/dept-edu"
    column = {"slug": "news", "name": "教育要闻", "type": "news"}
    response = await distribute.client.post(
        "/api/v1/sites/dept-edu/columns", json=column, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    patched = await distribute.client.patch(
        "/api/v1/sites/dept-edu/columns/news", json={"name": "教育动态"}, headers=ADMIN
    )
    assert patched.json()["name"] == "教育动态"
    renamed = await distribute.client.patch(
        "/api/v1/sites/dept-edu", json={"name": "四川省教育厅网站"}, headers=ADMIN
    )
    assert renamed.json()["name"] == "四川省教育厅网站" and renamed.json()["parent"] == "province"
    columns = (await distribute.client.get("/api/v1/sites/dept-edu/columns")).json()["items"]
    assert [(c["slug"], c["name"]) for c in columns] == [("news", "教育动态")]


async def test_bad_admin_input_is_refused_and_writes_nothing(distribute: Distribute) -> None:
    good = {"slug": "x", "name": "X", "domain": "x.gov.cn", "site_id_code": "5100000099"}
    cases = [
        ({**good, "site_id_code": "12345"}, ADMIN, 422, "body.site_id_code"),
        ({**good, "domain": "not a domain"}, ADMIN, 422, "body.domain"),
        ({**good, "slug": "Bad Slug"}, ADMIN, 422, "body.slug"),
        ({**good, "parent": "nowhere"}, ADMIN, 422, "parent"),
        ({**good, "slug": "province"}, ADMIN, 409, "slug"),
        ({**good, "extra": 1}, ADMIN, 422, "body.extra"),
        (good, EDITOR, 403, None),
        (good, {}, 401, None),
    ]
    for body, headers, status, field in cases:
        response = await distribute.client.post("/api/v1/sites", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert field in [e["field"] for e in response.json()["errors"]], response.text
    duplicate = await distribute.client.post(
        "/api/v1/sites/province/columns", json={"slug": "news", "name": "重复"}, headers=ADMIN
    )
    assert duplicate.status_code == 409
    async with distribute.app.state.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Site))).scalar() == 3
        columns = (await session.execute(select(func.count()).select_from(SiteColumn))).scalar()
    assert columns == 15


async def test_site_edits_reach_published_pages(distribute: Distribute) -> None:
    from services.distribute.upkeep import rerender_stale
    from tests.integration.distribute.conftest import ingested

    await distribute.publish(ingested("c1"))
    fix = {"site_id_code": "5100000062", "name": "四川省人民政府门户网站"}
    await distribute.client.patch("/api/v1/sites/province", json=fix, headers=ADMIN)
    rename = {"name": "通知"}
    await distribute.client.patch(
        "/api/v1/sites/province/columns/notices", json=rename, headers=ADMIN
    )
    assert await distribute.run(lambda run: rerender_stale(run.session)) == 1
    assert await distribute.run(lambda run: rerender_stale(run.session)) == 0
    article = (await distribute.client.get("/api/v1/sites/province/items/c1")).json()
    tags = article["page_tags"]
    assert (tags["SiteIDCode"], tags["SiteName"], tags["ColumnName"]) == (
        "5100000062",
        "四川省人民政府门户网站",
        "通知",
    )
    changes = (await distribute.client.get("/api/v1/changes")).json()["items"]
    assert [c["op"] for c in changes] == ["published", "updated"]
    assert changes[1]["published_at"] == changes[0]["published_at"]


async def test_site_scoped_admin_edits_only_its_sites(distribute: Distribute) -> None:
    from common.testing import staff

    city_admin = staff("city-admin", ("admin",), sites=["city"])
    rename = {"name": "改名"}
    other = await distribute.client.patch("/api/v1/sites/province", json=rename, headers=city_admin)
    assert other.status_code == 403
    own = await distribute.client.patch("/api/v1/sites/city", json=rename, headers=city_admin)
    assert own.status_code == 200
    column = {"slug": "extra", "name": "专栏"}
    refused = await distribute.client.post(
        "/api/v1/sites/province/columns", json=column, headers=city_admin
    )
    assert refused.status_code == 403
    assert (await distribute.client.get("/api/v1/sites/province")).json()[
        "name"
    ] == "四川省人民政府"
