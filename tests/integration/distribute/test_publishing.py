"""Approval → portal deliveries, materialised reads, events; idempotent; hash-checked."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from common.pagination import encode_cursor
from services.distribute.models import ColumnEntry, Delivery, Release
from tests.integration.distribute.conftest import EDITOR, Distribute, approved, ingested


async def count(distribute: Distribute, model: type) -> int:
    async with distribute.app.state.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_approved_version_is_delivered_to_each_column(distribute: Distribute) -> None:
    item = ingested("c1", columns=["notices", "policies"])
    await distribute.publish(item)

    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert [i["id"] for i in listed["items"]] == ["c1"] and listed["next_cursor"] is None
    entry = listed["items"][0]
    assert entry["title"] == item.title and entry["column"] == "notices"
    assert entry["url"] == "https://www.sc.gov.cn/notices/c1.html"

    article = (await distribute.client.get("/api/v1/sites/province/items/c1")).json()
    assert article["content_hash"] == item.content_hash and article["body_html"] == item.body_html
    tags = article["page_tags"]
    assert tags["SiteName"] == "四川省人民政府" and tags["SiteIDCode"] == "5100000001"
    assert tags["SiteDomain"] == "www.sc.gov.cn"
    assert tags["ColumnName"] == "通知公告" and tags["ColumnType"] == "通知公告"
    assert tags["ArticleTitle"] == item.title and tags["ContentSource"] == item.publisher
    assert len(tags["PubDate"]) == 16 and tags["Url"] == entry["url"]
    assert "网站" in tags["Keywords"] and tags["Description"].startswith("各市（州）")
    assert '<meta name="SiteIDCode" content="5100000001">' in article["meta_html"]

    deliveries = await distribute.client.get("/api/v1/deliveries?content_id=c1", headers=EDITOR)
    states = {(d["target"], d["state"]) for d in deliveries.json()["items"]}
    assert states == {
        ("portal:province/notices", "delivered"),
        ("portal:province/policies", "delivered"),
    }
    updates = await distribute.outbox("delivery.updated")
    assert {(u["target"], u["state"]) for u in updates} == states
    published = await distribute.outbox("content.published")
    assert len(published) == 1 and published[0]["content_hash"] == item.content_hash
    assert sorted(published[0]["targets"]) == sorted(t for t, _ in states)


async def test_repeated_approval_delivers_nothing_twice(distribute: Distribute) -> None:
    item = ingested("c1")
    await distribute.publish(item)
    await distribute.handle(approved(item))  # same decision, another event id
    await distribute.handle(item)
    assert await count(distribute, Delivery) == 1
    assert await count(distribute, ColumnEntry) == 1
    assert len(await distribute.outbox("content.published")) == 1


async def test_rejection_publishes_nothing(distribute: Distribute) -> None:
    item = ingested("c1")
    await distribute.handle(item)
    await distribute.handle(approved(item, decision="rejected"))
    assert await count(distribute, Delivery) == 0 and await distribute.outbox() == []


async def test_approval_before_ingest_event_reads_the_library(distribute: Distribute) -> None:
    item = ingested("c9", columns=["news"])
    distribute.ingest.add(item)
    await distribute.handle(approved(item))  # content.ingested not seen yet
    assert len(distribute.ingest.calls) == 1
    assert distribute.ingest.calls[0].headers["x-kitchen-actor"]  # signed service identity
    listed = (await distribute.client.get("/api/v1/sites/province/columns/news/items")).json()
    assert [i["id"] for i in listed["items"]] == ["c9"]
    await distribute.handle(item)  # the late content.ingested changes nothing
    assert len(await distribute.outbox("content.published")) == 1


async def test_approval_waits_for_text_while_ingest_is_down(distribute: Distribute) -> None:
    from services.distribute.upkeep import resume_waiting

    distribute.ingest.down = True
    early, late = ingested("early"), ingested("late")
    for item in (early, late):
        await distribute.handle(approved(item))
    async with distribute.app.state.db.sessions() as session:
        states = {r.content_id: r.state for r in (await session.execute(select(Release))).scalars()}
    assert states == {"early": "awaiting_content", "late": "awaiting_content"}
    assert await count(distribute, Delivery) == 0
    # the text arrives on its own topic: delivered right there
    await distribute.handle(early)
    # or ingest is back and the retry pass fetches it
    distribute.ingest.down = False
    distribute.ingest.add(late)
    assert (
        await distribute.run(lambda run: resume_waiting(run.session, distribute.deps.fetcher)) == 1
    )
    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert sorted(i["id"] for i in listed["items"]) == ["early", "late"]
    published = await distribute.outbox("content.published")
    assert sorted(p["content_id"] for p in published) == ["early", "late"]


async def test_hash_mismatch_fails_every_target_and_publishes_nothing(
    distribute: Distribute,
) -> None:
    item = ingested("c1", columns=["notices", "news"])
    await distribute.handle(item)
    await distribute.handle(approved(item, content_hash="something-else"))
    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert listed["items"] == []
    deliveries = (
        await distribute.client.get("/api/v1/deliveries?content_id=c1", headers=EDITOR)
    ).json()["items"]
    assert {d["state"] for d in deliveries} == {"failed"} and len(deliveries) == 2
    assert "content hash mismatch" in deliveries[0]["last_error"]
    assert await distribute.outbox("content.published") == []
    assert {u["state"] for u in await distribute.outbox("delivery.updated")} == {"failed"}


async def test_unknown_version_and_unknown_column_fail_with_reason(distribute: Distribute) -> None:
    await distribute.handle(approved(ingested("ghost")))  # ingest answers 404
    item = ingested("c2", columns=["notices", "gone"])
    await distribute.publish(item)
    async with distribute.app.state.db.sessions() as session:
        rows = (await session.execute(select(Delivery).order_by(Delivery.target))).scalars().all()
        releases = {
            r.content_id: r.state for r in (await session.execute(select(Release))).scalars()
        }
    failed = {(d.content_id, d.target): d.last_error for d in rows if d.state == "failed"}
    assert "unknown to the library" in failed[("ghost", "portal")]
    assert "no column 'gone'" in failed[("c2", "portal:province/gone")]
    assert releases == {"ghost": "failed", "c2": "failed"}
    assert await distribute.outbox("content.published") == []


async def test_new_version_replaces_the_old_and_keeps_its_place(distribute: Distribute) -> None:
    first = ingested("c1", title="第一版")
    await distribute.publish(first)
    await distribute.publish(ingested("newer", title="较新的通知"))
    await distribute.publish(ingested("c1", version=2, title="第二版"))
    await distribute.handle(approved(first))  # a stale approval of v1 arrives late: no effect
    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert [(i["id"], i["title"]) for i in listed["items"]] == [
        ("newer", "较新的通知"),
        ("c1", "第二版"),
    ]
    article = (await distribute.client.get("/api/v1/sites/province/items/c1")).json()
    assert article["version"] == 2 and article["title"] == "第二版"
    published = await distribute.outbox("content.published")
    assert [(p["content_id"], p["version"]) for p in published] == [
        ("c1", 1),
        ("newer", 1),
        ("c1", 2),
    ]


async def test_column_list_pages_newest_first(distribute: Distribute) -> None:
    for n in range(5):
        await distribute.publish(ingested(f"c{n}", title=f"通知{n}"))
    path = "/api/v1/sites/province/columns/notices/items"
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        body = (await distribute.client.get(path + query)).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["c4", "c3", "c2", "c1", "c0"]


async def test_bad_cursor_and_limit_are_refused(distribute: Distribute) -> None:
    path = "/api/v1/sites/province/columns/notices/items"
    for query, status in [
        ("?cursor=!!!", 400),
        (f"?cursor={encode_cursor({'a': 1})}", 400),
        ("?limit=0", 422),
        ("?limit=abc", 422),
    ]:
        response = await distribute.client.get(path + query)
        assert response.status_code == status, query
        assert response.headers["content-type"] == "application/problem+json"
    response = await distribute.client.get("/api/v1/deliveries?cursor=%%%", headers=EDITOR)
    assert response.status_code == 400


async def test_item_reads_404_and_etag(distribute: Distribute) -> None:
    assert (await distribute.client.get("/api/v1/sites/province/items/none")).status_code == 404
    await distribute.publish(ingested("c1"))
    first = await distribute.client.get("/api/v1/sites/province/items/c1")
    again = await distribute.client.get(
        "/api/v1/sites/province/items/c1", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_deliveries_need_a_staff_actor(distribute: Distribute) -> None:
    assert (await distribute.client.get("/api/v1/deliveries?content_id=x")).status_code == 401


async def test_older_version_approved_late_is_superseded(distribute: Distribute) -> None:
    first, second = ingested("c1", title="第一版"), ingested("c1", version=2, title="第二版")
    await distribute.handle(first)
    await distribute.publish(second)
    await distribute.handle(approved(first))
    article = (await distribute.client.get("/api/v1/sites/province/items/c1")).json()
    assert article["version"] == 2
    async with distribute.app.state.db.sessions() as session:
        query = select(Delivery).where(Delivery.version == 1)
        [stale] = (await session.execute(query)).scalars().all()
    assert stale.state == "failed" and stale.last_error == "superseded by version 2"


async def test_no_demo_tree_unless_asked(database_url: str) -> None:
    from asgi_lifespan import LifespanManager

    from services.distribute.app import create_app
    from tests.integration.distribute.conftest import make_settings

    app = create_app(make_settings(database_url, seed_demo=False))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://d") as client:
            assert (await client.get("/api/v1/sites")).json()["items"] == []
            assert (await client.get("/api/v1/sites/province/columns")).status_code == 404


async def test_delivery_log_respects_the_callers_sites(distribute: Distribute) -> None:
    from common.testing import staff

    await distribute.publish(ingested("c1"))
    await distribute.publish(ingested("c2", site="city", columns=["news"]))
    city_editor = staff("city-editor", ("editor",), sites=["city"])
    seen = (await distribute.client.get("/api/v1/deliveries", headers=city_editor)).json()
    assert [d["content_id"] for d in seen["items"]] == ["c2"]
    everything = (await distribute.client.get("/api/v1/deliveries", headers=EDITOR)).json()
    province = next(d for d in everything["items"] if d["content_id"] == "c1")
    hidden = await distribute.client.get(
        f"/api/v1/deliveries/{province['id']}", headers=city_editor
    )
    assert hidden.status_code == 404


async def test_an_imported_item_shows_its_original_date_not_the_delivery_time(
    distribute: Distribute,
) -> None:
    # two archive items, imported newest first: the lists keep their own dates' order
    await distribute.publish(ingested("old", published_at="2019-03-04T02:30:00+00:00"))
    await distribute.publish(ingested("older", published_at="2018-01-02T01:00:00+00:00"))
    await distribute.publish(ingested("fresh"))  # no date of its own: the delivery time

    article = (await distribute.client.get("/api/v1/sites/province/items/old")).json()
    assert article["page_tags"]["PubDate"] == "2019-03-04 10:30"  # Beijing time
    assert article["published_at"] == "2019-03-04T10:30:00+08:00"
    assert article["delivered_at"] > "2026-01-01"  # the hub's own moment, kept apart
    assert article["written_at"] is None

    fresh = (await distribute.client.get("/api/v1/sites/province/items/fresh")).json()
    assert fresh["published_at"] == fresh["delivered_at"]

    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert [i["id"] for i in listed["items"]] == ["fresh", "old", "older"]
    assert listed["items"][1]["published_at"] == "2019-03-04T10:30:00+08:00"
    feed = (await distribute.client.get("/feeds/province/notices.json")).json()
    dates = {i["id"]: i["date_published"] for i in feed["items"]}
    assert dates["old"] == "2019-03-04T10:30:00+08:00"
