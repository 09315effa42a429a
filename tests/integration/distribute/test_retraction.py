"""Retraction reaches every outlet; the change feed keeps a tombstone; feeds stay valid."""

from __future__ import annotations

import feedparser

from common.events import ContentRetractionRequested
from common.pagination import encode_cursor
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    approved,
    ingested,
)


def retraction(content_id: str) -> ContentRetractionRequested:
    return ContentRetractionRequested(
        content_id=content_id, reason="内容有误", requested_by="editor"
    )


async def changes(distribute: Distribute, query: str = "") -> dict:
    response = await distribute.client.get(f"/api/v1/changes{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_retraction_reaches_portal_feeds_and_receivers(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET}
    created = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    endpoint_id = created.json()["id"]
    await distribute.publish(ingested("c1", columns=["notices", "news"]))
    await distribute.publish(ingested("c2"))
    await distribute.dispatch()
    await distribute.handle(retraction("c1"))

    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert [i["id"] for i in listed["items"]] == ["c2"]
    gone = await distribute.client.get("/api/v1/sites/province/items/c1")
    assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
    feed = feedparser.parse((await distribute.client.get("/feeds/province/news.rss")).content)
    assert not feed.bozo and feed.entries == []

    await distribute.dispatch()
    kinds = [(r["payload"]["type"], r["payload"]["data"]["content_id"]) for r in receiver.received]
    assert sorted(kinds) == [
        ("content.published", "c1"),
        ("content.published", "c2"),
        ("content.retracted", "c1"),
    ]
    retracted = [
        d
        for d in (
            await distribute.client.get("/api/v1/deliveries?content_id=c1", headers=EDITOR)
        ).json()["items"]
        if d["action"] == "retract"
    ]
    assert sorted(d["target"] for d in retracted) == [
        "portal:province/news",
        "portal:province/notices",
        f"webhook:{endpoint_id}",
    ]
    assert {d["state"] for d in retracted} == {"delivered"}
    updates = await distribute.outbox("delivery.updated")
    assert [u["state"] for u in updates if u["content_id"] == "c1"].count("retracted") == 3

    feed_changes = (await changes(distribute))["items"]
    assert [(c["op"], c["content_id"]) for c in feed_changes] == [
        ("published", "c1"),
        ("published", "c2"),
        ("retracted", "c1"),
    ]
    tombstone = feed_changes[-1]
    assert tombstone["reason"] == "内容有误" and "title" not in tombstone

    await distribute.handle(retraction("c1"))  # asked twice: nothing more happens
    assert len((await changes(distribute))["items"]) == 3


async def test_unsent_webhook_is_cancelled_and_late_approval_refused(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET}
    await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    item = ingested("c1")
    await distribute.publish(item)
    await distribute.handle(retraction("c1"))
    assert await distribute.dispatch() == 0 and receiver.received == []

    other = ingested("c3")
    await distribute.handle(other)
    await distribute.handle(retraction("c3"))  # taken down before its approval arrived
    await distribute.handle(approved(other))
    listed = (await distribute.client.get("/api/v1/sites/province/columns/notices/items")).json()
    assert listed["items"] == []
    states = {
        d["state"]
        for d in (
            await distribute.client.get("/api/v1/deliveries?content_id=c3", headers=EDITOR)
        ).json()["items"]
    }
    assert states == {"failed"}


async def test_change_feed_cursor_and_site_filter(distribute: Distribute) -> None:
    for n in range(3):
        await distribute.publish(ingested(f"p{n}"))
    await distribute.publish(ingested("town", site="city", columns=["news"]))
    first = await changes(distribute, "?limit=2")
    assert [c["content_id"] for c in first["items"]] == ["p0", "p1"] and first["has_more"]
    rest = await changes(distribute, f"?cursor={first['next_cursor']}")
    assert [c["content_id"] for c in rest["items"]] == ["p2", "town"] and not rest["has_more"]
    caught_up = await changes(distribute, f"?cursor={rest['next_cursor']}")
    assert caught_up["items"] == [] and caught_up["next_cursor"] == rest["next_cursor"]
    city = await changes(distribute, "?site=city")
    assert [c["content_id"] for c in city["items"]] == ["town"]
    assert city["items"][0]["href"] == "/api/v1/sites/city/items/town"
    assert [c["seq"] for c in first["items"]] == sorted(c["seq"] for c in first["items"])

    for query, status in [
        ("?cursor=%%%", 400),
        (f"?cursor={encode_cursor('x')}", 400),
        (f"?cursor={encode_cursor(-1)}", 400),
        ("?site=nowhere", 404),
        ("?limit=100000", 422),
    ]:
        response = await distribute.client.get(f"/api/v1/changes{query}")
        assert response.status_code == status, query
        assert response.headers["content-type"] == "application/problem+json"


async def test_change_feed_writers_take_turns_on_postgres(distribute: Distribute) -> None:
    from sqlalchemy import text

    from services.distribute.portal import CHANGE_FEED_LOCK
    from services.distribute.publishing import handle_decision

    if distribute.app.state.db.is_sqlite:
        return  # one writer at a time already
    item = ingested("c1")
    await distribute.handle(item)
    async with distribute.app.state.db.sessions() as session:
        await handle_decision(session, approved(item), distribute.deps.fetcher)
        query = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
            "AND pid = pg_backend_pid()"
        )
        held = (await session.execute(query, {"key": CHANGE_FEED_LOCK})).scalar()
        await session.commit()
    assert held == 1
