"""App subscribers: a webhook endpoint subscribes to a site's columns and item kinds (checked
at registration), receives only those items — and their retractions —, and the change feed
filters by column and kind with cursors that never skip a matching change."""

from __future__ import annotations

from typing import Any

from common.events import ContentRetractionRequested
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    ingested,
)


async def register(distribute: Distribute, **body: Any) -> dict[str, Any]:
    created = await distribute.client.post(
        "/api/v1/webhook-endpoints", json={"secret": SECRET, **body}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def refused(distribute: Distribute, body: dict[str, Any]) -> tuple[str, str]:
    """(field, detail) of a 422 registration."""
    answer = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    error = answer.json()["errors"][0]
    return error["field"], answer.json().get("detail", "") + error.get("reason", "")


async def test_registration_checks_and_shows_the_filters(
    distribute: Distribute, receiver: Receiver
) -> None:
    url = receiver.url
    field, _ = await refused(distribute, {"url": url, "columns": ["notices"]})
    assert field == "columns"  # columns belong to one site
    field, detail = await refused(
        distribute, {"url": url, "site": "province", "columns": ["notices", "nope"]}
    )
    assert field == "columns" and "no column nope on site" in detail
    field, _ = await refused(distribute, {"url": url, "kinds": ["gossip"]})
    assert field == "body.kinds.0"
    field, _ = await refused(distribute, {"url": url, "site": "province", "columns": ["Bad!"]})
    assert field == "body.columns.0"
    listed = await distribute.client.get("/api/v1/webhook-endpoints", headers=ADMIN)
    assert listed.json()["items"] == []  # nothing was registered by the refusals

    made = await register(
        distribute, url=url, site="province", columns=["notices", "news", "news"], kinds=["notice"]
    )
    assert made["columns"] == ["news", "notices"] and made["kinds"] == ["notice"]
    one = await distribute.client.get(f"/api/v1/webhook-endpoints/{made['id']}", headers=ADMIN)
    assert one.json()["columns"] == ["news", "notices"] and one.json()["kinds"] == ["notice"]
    everything = await register(distribute, url=url)
    assert everything["columns"] == [] and everything["kinds"] == []


async def targets(distribute: Distribute, content_id: str, action: str = "publish") -> set[str]:
    answer = await distribute.client.get(
        f"/api/v1/deliveries?content_id={content_id}", headers=EDITOR
    )
    return {
        d["target"]
        for d in answer.json()["items"]
        if d["channel"] == "webhook" and d["action"] == action
    }


async def test_deliveries_follow_the_filters_and_so_do_retractions(
    distribute: Distribute, receiver: Receiver
) -> None:
    notices = await register(distribute, url=receiver.url, site="province", columns=["notices"])
    policies = await register(distribute, url=receiver.url, kinds=["policy"])
    every = await register(distribute, url=receiver.url)
    city = await register(distribute, url=receiver.url, site="city")
    a, b, c = (f"webhook:{e['id']}" for e in (notices, policies, every))

    await distribute.publish(ingested("n1"))  # a notice in notices
    await distribute.publish(ingested("p1", kind="policy", columns=["policies"]))
    await distribute.publish(ingested("x1", kind="news", columns=["news", "notices"]))
    assert await targets(distribute, "n1") == {a, c}
    assert await targets(distribute, "p1") == {b, c}
    assert await targets(distribute, "x1") == {a, c}
    assert f"webhook:{city['id']}" not in await targets(distribute, "x1")
    await distribute.dispatch()
    got = sorted((r["payload"]["data"]["content_id"]) for r in receiver.accepted())
    assert got == ["n1", "n1", "p1", "p1", "x1", "x1"]

    retraction = ContentRetractionRequested(content_id="p1", reason="有误", requested_by="e")
    await distribute.handle(retraction)
    assert await targets(distribute, "p1", "retract") == {b, c}  # exactly those that got it
    await distribute.dispatch()
    told = [r for r in receiver.accepted() if r["payload"]["type"] == "content.retracted"]
    assert len(told) == 2 and {r["payload"]["data"]["content_id"] for r in told} == {"p1"}


async def feed(distribute: Distribute, query: str) -> dict[str, Any]:
    answer = await distribute.client.get(f"/api/v1/changes?{query}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def read_all(distribute: Distribute, query: str, limit: int) -> list[tuple[str, str]]:
    """Every change a poller with `query` sees, paging `limit` at a time with the cursor."""
    seen: list[tuple[str, str]] = []
    cursor = ""
    while True:
        page = await feed(distribute, f"{query}&limit={limit}{cursor}")
        assert len(page["items"]) <= limit
        seen += [(c["op"], c["content_id"]) for c in page["items"]]
        cursor = f"&cursor={page['next_cursor']}"
        if not page["has_more"]:
            return seen


async def test_change_feed_filters_page_without_skipping(distribute: Distribute) -> None:
    # a column whose slug is a prefix of another's: `notice` must not match `notices`
    column = {"slug": "notice", "name": "公示", "type": "notice"}
    made = await distribute.client.post(
        "/api/v1/sites/province/columns", json=column, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    expected_notices = []
    for n in range(7):
        if n % 3 == 0:
            await distribute.publish(ingested(f"n{n}"))  # notice in notices
            expected_notices.append(("published", f"n{n}"))
        elif n % 3 == 1:
            await distribute.publish(ingested(f"p{n}", kind="policy", columns=["policies"]))
        else:
            await distribute.publish(ingested(f"o{n}", columns=["notice"]))
    await distribute.publish(ingested("town", site="city"))  # city's notices
    await distribute.handle(
        ContentRetractionRequested(content_id="n3", reason="有误", requested_by="e")
    )
    expected_notices.append(("retracted", "n3"))  # the tombstone reaches the column's readers

    assert await read_all(distribute, "site=province&column=notices", 1) == expected_notices
    assert await read_all(distribute, "site=province&column=notices", 2) == expected_notices
    everywhere = await read_all(distribute, "column=notices", 2)
    assert everywhere == [*expected_notices[:-1], ("published", "town"), expected_notices[-1]]
    assert await read_all(distribute, "column=notice", 2) == [
        ("published", "o2"),
        ("published", "o5"),
    ]
    assert await read_all(distribute, "kind=policy", 1) == [
        ("published", "p1"),
        ("published", "p4"),
    ]
    assert await read_all(distribute, "kind=policy&column=notices", 5) == []
    caught_up = await feed(distribute, "kind=policy&limit=5")
    again = await feed(distribute, f"kind=policy&cursor={caught_up['next_cursor']}")
    assert again["items"] == [] and not again["has_more"]
    assert again["next_cursor"] == caught_up["next_cursor"]

    for bad in ("kind=gossip", "column=Bad%25", "column=a_b"):
        answer = await distribute.client.get(f"/api/v1/changes?{bad}")
        assert answer.status_code == 422, (bad, answer.text)


async def test_an_item_moved_to_another_column_is_an_update_for_both(
    distribute: Distribute,
) -> None:
    await distribute.publish(ingested("m1", columns=["notices"]))
    await distribute.publish(ingested("m1", version=2, columns=["news"]))
    left = await read_all(distribute, "column=notices", 10)
    joined = await read_all(distribute, "column=news", 10)
    assert left == [("published", "m1"), ("updated", "m1")]
    assert joined == [("updated", "m1")]
    [update] = (await feed(distribute, "column=notices&kind=notice"))["items"][1:]
    assert update["columns"] == ["news"]  # the payload says where it is now
