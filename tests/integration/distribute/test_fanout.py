"""Fan-out over the site tree: selectors resolve to (site, column) portal targets, each one
recorded; a column a site lacks fails that target only; ingest refuses bad selectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from common.events import FanoutSelector, utcnow
from common.testing import staff
from services.distribute.models import Article, ColumnEntry, Delivery, Release, Site, SiteColumn
from tests.integration.distribute.conftest import EDITOR, Distribute, Receiver, ingested
from tests.integration.ingest.conftest import ingest_client  # noqa: F401  # the ingest app
from tests.integration.ingest.test_submission import EDITOR as INGEST_EDITOR
from tests.integration.ingest.test_submission import SUBMISSION, count_rows

# besides the demo tree (province → city → county, five columns each): a second county under
# the city and a second city under the province, each with a news column only
#   province ─┬─ city ─┬─ county
#             │        └─ county2 (news)
#             └─ city2 (news)
EXTRA_SITES = (("county2", "city", "5101300001"), ("city2", "province", "5102000001"))


async def grow_tree(distribute: Distribute) -> None:
    now = utcnow()
    async with distribute.app.state.db.sessions() as session:
        for slug, parent, code in EXTRA_SITES:
            session.add(
                Site(
                    slug=slug,
                    name=f"{slug}人民政府",
                    domain=f"www.{slug}.gov.cn",
                    site_id_code=code,
                    parent=parent,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            session.add(
                SiteColumn(
                    site=slug,
                    slug="news",
                    name="要闻动态",
                    type="news",
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.commit()


async def deliveries_of(distribute: Distribute, content_id: str) -> dict[str, Delivery]:
    async with distribute.app.state.db.sessions() as session:
        query = select(Delivery).where(Delivery.content_id == content_id)  # type: ignore[arg-type]
        return {d.target: d for d in (await session.execute(query)).scalars()}


def fanout(*selectors: dict[str, Any]) -> list[FanoutSelector]:
    return [FanoutSelector.model_validate(s) for s in selectors]


async def test_children_reach_one_level_and_descendants_the_whole_subtree(
    distribute: Distribute,
) -> None:
    await grow_tree(distribute)
    item = ingested(
        "c1",
        columns=["notices"],
        fanout=fanout(
            {"site": "province", "scope": "children", "columns": ["notices", "news"]},
            {"site": "city", "scope": "descendants", "columns": ["news"]},
        ),
    )
    await distribute.publish(item)

    found = await deliveries_of(distribute, "c1")
    assert {t: d.state for t, d in found.items()} == {
        "portal:province/notices": "delivered",  # the item's own site and column
        "portal:city/notices": "delivered",  # children of the province …
        "portal:city/news": "delivered",
        "portal:city2/news": "delivered",
        "portal:city2/notices": "failed",  # … one of which has no such column
        "portal:county/news": "delivered",  # descendants of the city, both levels
        "portal:county2/news": "delivered",
    }
    assert found["portal:city2/notices"].last_error == "no column 'notices' on site 'city2'"
    assert all(d.delivered_at is not None for d in found.values() if d.state == "delivered")
    # a child's child is no child: county is reached by the city's descendants only
    assert "portal:county/notices" not in found

    async with distribute.app.state.db.sessions() as session:
        pages = (await session.execute(select(Article.site))).scalars().all()
        entries = (await session.execute(select(ColumnEntry.site, ColumnEntry.column))).all()
        release = await session.get(Release, ("c1", 1))
    assert sorted(pages) == ["city", "city2", "county", "county2", "province"]
    assert sorted(map(tuple, entries)) == sorted(
        tuple(t.removeprefix("portal:").split("/"))
        for t, d in found.items()
        if d.state == "delivered"
    )
    assert release is not None and release.state == "failed"
    assert "portal:city2/notices" in release.detail and "city/news" not in release.detail

    # each site's page carries that site's page tags
    page = (await distribute.client.get("/api/v1/sites/county2/items/c1")).json()
    assert page["site"] == "county2" and page["page_tags"]["SiteDomain"] == "www.county2.gov.cn"
    listed = (await distribute.client.get("/api/v1/sites/city2/columns/news/items")).json()
    assert [i["id"] for i in listed["items"]] == ["c1"]
    # every target's state is announced, one event each
    updates = await distribute.outbox("delivery.updated")
    assert sorted((u["target"], u["state"]) for u in updates) == sorted(
        (t, d.state) for t, d in found.items()
    )
    feed = await distribute.outbox("content.published")
    assert feed == []  # one target failed: the release is not published


async def test_a_fanout_where_every_column_exists_publishes_once(distribute: Distribute) -> None:
    item = ingested(
        "c2",
        columns=["news"],
        fanout=fanout({"site": "province", "scope": "descendants", "columns": ["news"]}),
    )
    await distribute.publish(item)
    found = await deliveries_of(distribute, "c2")
    assert {t: d.state for t, d in found.items()} == {
        f"portal:{s}/news": "delivered" for s in ("province", "city", "county")
    }
    published = await distribute.outbox("content.published")
    assert len(published) == 1 and sorted(published[0]["targets"]) == sorted(found)
    changes = (await distribute.client.get("/api/v1/changes")).json()["items"]
    assert sorted(c["site"] for c in changes) == ["city", "county", "province"]


async def test_a_new_version_keeps_each_sites_place_and_drops_the_left_column(
    distribute: Distribute,
) -> None:
    selector = {"site": "province", "scope": "children", "columns": ["news", "notices"]}
    first = ingested("c3", columns=["news"], fanout=fanout(selector))
    await distribute.publish(first)
    before = (await distribute.client.get("/api/v1/sites/city/items/c3")).json()
    second = ingested(
        "c3",
        version=2,
        columns=["news"],
        fanout=fanout({**selector, "columns": ["news"]}),
    )
    await distribute.publish(second)
    after = (await distribute.client.get("/api/v1/sites/city/items/c3")).json()
    assert after["version"] == 2 and after["delivered_at"] == before["delivered_at"]
    notices = (await distribute.client.get("/api/v1/sites/city/columns/notices/items")).json()
    assert notices["items"] == []
    news = (await distribute.client.get("/api/v1/sites/city/columns/news/items")).json()
    assert [(i["id"], i["version"]) for i in news["items"]] == [("c3", 2)]


@pytest.mark.parametrize("scope", ["self", "children", "descendants"])
async def test_an_unknown_selector_site_fails_its_targets_only(
    distribute: Distribute, scope: str
) -> None:
    selector = {"site": "nowhere", "scope": scope, "columns": ["news"]}
    item = ingested("c4", columns=["news"], fanout=fanout(selector))
    await distribute.publish(item)
    found = await deliveries_of(distribute, "c4")
    assert {t: d.state for t, d in found.items()} == {
        "portal:province/news": "delivered",
        "portal:nowhere/news": "failed",
    }
    assert found["portal:nowhere/news"].last_error == "no site 'nowhere'"
    staff_view = await distribute.client.get("/api/v1/deliveries?content_id=c4", headers=EDITOR)
    assert {d["target"] for d in staff_view.json()["items"]} == set(found)


async def test_a_refused_approval_fails_every_fanned_out_target(distribute: Distribute) -> None:
    item = ingested(
        "c5",
        columns=["news"],
        fanout=fanout({"site": "province", "scope": "children", "columns": ["news"]}),
    )
    await distribute.handle(item)
    from tests.integration.distribute.conftest import approved

    await distribute.handle(approved(item, content_hash="another"))
    found = await deliveries_of(distribute, "c5")
    assert {t: d.state for t, d in found.items()} == {
        "portal:province/news": "failed",
        "portal:city/news": "failed",
    }
    assert all("content hash mismatch" in d.last_error for d in found.values())


def test_an_event_from_before_fanout_parses_as_none() -> None:
    raw = ingested("old").model_dump(mode="json")
    raw.pop("fanout")
    assert type(ingested("x")).model_validate(orjson.loads(orjson.dumps(raw))).fanout == []


async def test_ingest_keeps_the_selectors_and_refuses_bad_ones(
    ingest_client: httpx.AsyncClient,  # noqa: F811
    database_url: str,
) -> None:
    cases: list[tuple[Any, str]] = [
        ([{"site": "Bad Site", "columns": ["news"]}], "body.fanout.0.site"),
        ([{"site": "city", "scope": "cousins", "columns": ["news"]}], "body.fanout.0.scope"),
        ([{"site": "city", "columns": []}], "body.fanout.0.columns"),
        ([{"site": "city", "columns": ["news", "news"]}], "body.fanout.0.columns"),
        ([{"site": "city", "columns": [f"c{n}" for n in range(21)]}], "body.fanout.0.columns"),
        ([{"site": "city", "columns": ["news"], "depth": 3}], "body.fanout.0.depth"),
        ([{"site": f"s{n}", "columns": ["news"]} for n in range(21)], "body.fanout"),
        ([{"site": "city", "columns": ["news"]}] * 2, "body.fanout"),
        ("city", "body.fanout"),
    ]
    for selectors, field in cases:
        body = {**SUBMISSION, "fanout": selectors}
        response = await ingest_client.post("/api/v1/contents", json=body, headers=INGEST_EDITOR)
        assert response.status_code == 422, (selectors, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert await count_rows(database_url) == (0, 0)

    selectors = [{"site": "province", "scope": "descendants", "columns": ["news"]}]
    body = {**SUBMISSION, "fanout": selectors}
    response = await ingest_client.post("/api/v1/contents", json=body, headers=INGEST_EDITOR)
    assert response.status_code == 202, response.text
    item = response.json()
    version = await ingest_client.get(
        f"/api/v1/contents/{item['id']}/versions/1", headers=INGEST_EDITOR
    )
    assert version.json()["fanout"] == selectors
    from tests.integration.ingest.test_submission_accounts import ingested_events

    (event,) = await ingested_events(database_url)
    assert event["fanout"] == selectors and event["content_hash"] == item["content_hash"]


async def test_the_fanout_report_counts_states_and_spreads_per_channel(
    distribute: Distribute,
) -> None:
    await grow_tree(distribute)
    item = ingested(
        "c6",
        columns=["news"],
        fanout=fanout({"site": "province", "scope": "children", "columns": ["news", "notices"]}),
    )
    await distribute.publish(item)
    # a later landing, as a slow target would: the report measures what is recorded
    async with distribute.app.state.db.sessions() as session:
        release = await session.get(Release, ("c6", 1))
        assert release is not None
        approved_at = release.approved_at.replace(tzinfo=UTC)
        found = await deliveries_of(distribute, "c6")
        lags = {"portal:province/news": 1.0, "portal:city/news": 2.0, "portal:city/notices": 4.0}
        lags["portal:city2/news"] = 10.0
        for target, lag in lags.items():
            row = await session.get(Delivery, found[target].id)
            assert row is not None
            row.delivered_at = approved_at + timedelta(seconds=lag)
            session.add(row)
        await session.commit()

    url = "/api/v1/deliveries/fanout/c6/1"
    response = await distribute.client.get(url, headers=EDITOR)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["site"] == "province" and report["state"] == "failed"
    portal = next(c for c in report["channels"] if c["channel"] == "portal")
    assert portal["targets"] == 5
    assert portal["states"] == {"delivered": 4, "failed": 1}
    assert portal["skew_seconds"] == 9.0
    assert portal["p50_seconds"] == 2.0 and portal["p99_seconds"] == 10.0
    first = datetime.fromisoformat(portal["first_delivered_at"])
    assert abs(first - (approved_at + timedelta(seconds=1))) < timedelta(milliseconds=1)
    assert first.utcoffset() == timedelta(hours=8)  # shown in Asia/Shanghai
    assert report["total"]["targets"] == 5 and report["total"]["skew_seconds"] == 9.0
    empty = {c["channel"]: c for c in report["channels"]}["wechat"]
    assert empty["targets"] == 0 and empty["p50_seconds"] is None and empty["states"] == {}

    # outside the caller's sites, an unknown version, a malformed id
    county_editor = staff("editor", ("editor",), sites=["county"])
    assert (await distribute.client.get(url, headers=county_editor)).status_code == 404
    missing = await distribute.client.get("/api/v1/deliveries/fanout/c6/2", headers=EDITOR)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "version"
    bad = await distribute.client.get("/api/v1/deliveries/fanout/c%206/1", headers=EDITOR)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_an_app_subscriber_of_a_fanned_out_site_hears_of_that_sites_page(
    distribute: Distribute, receiver: Receiver
) -> None:
    from tests.integration.distribute.test_subscriber_filters import register

    county = await register(distribute, url=receiver.url, site="county", columns=["news"])
    county_notices = await register(
        distribute, url=receiver.url, site="county", columns=["notices"]
    )
    everywhere = await register(distribute, url=receiver.url)
    item = ingested(
        "c7",
        columns=["policies"],
        fanout=fanout({"site": "city", "scope": "children", "columns": ["news"]}),
    )
    await distribute.publish(item)
    found = await deliveries_of(distribute, "c7")
    webhooks = {t for t in found if t.startswith("webhook:")}
    # the county's news subscriber and the all-sites one; not the county's notices one
    assert webhooks == {f"webhook:{county['id']}", f"webhook:{everywhere['id']}"}
    assert f"webhook:{county_notices['id']}" not in found
    await distribute.dispatch()
    pages = {r["payload"]["data"]["site"]: r["payload"]["data"] for r in receiver.accepted()}
    assert set(pages) == {"county", "province"}  # each hears of its own site's page
    assert pages["county"]["url"].startswith("https://www.dayi.gov.cn/")
    assert [c["slug"] for c in pages["county"]["columns"]] == ["news"]


async def test_webhook_deliveries_due_at_one_moment_are_leased_oldest_first(
    distribute: Distribute, receiver: Receiver
) -> None:
    from tests.integration.distribute.test_subscriber_filters import register

    await register(distribute, url=receiver.url)
    for content_id in ("old", "new", "middle"):
        await distribute.publish(ingested(content_id, columns=["news"]))
    created = {"old": 1, "middle": 2, "new": 3}  # seconds after a common moment
    due = utcnow()
    async with distribute.app.state.db.sessions() as session:
        for content_id, offset in created.items():
            for delivery in (await deliveries_of(distribute, content_id)).values():
                if delivery.channel != "webhook":
                    continue
                row = await session.get(Delivery, delivery.id)
                assert row is not None
                row.next_attempt_at = due  # due at one moment, as a fan-out's rows are
                row.created_at = due + timedelta(seconds=offset)
                session.add(row)
        await session.commit()
    # a fresh dispatcher each time: one per worker, none holding the endpoint's concurrency
    leased = [(await distribute.claim(distribute.dispatcher(), limit=1))[0] for _ in range(3)]
    ids = {
        d.id: c
        for c in created
        for d in (await deliveries_of(distribute, c)).values()
        if d.channel == "webhook"
    }
    assert [ids[claim.delivery_id] for claim in leased] == ["old", "middle", "new"]
