"""Operators see dead-lettered and stuck deliveries across items and retry failed ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from common.events import utcnow
from common.testing import staff
from services.distribute.dispatch import WebhookDispatcher
from services.distribute.models import Delivery
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    ingested,
)


async def register(distribute: Distribute, url: str) -> None:
    body = {"url": url, "secret": SECRET}
    response = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert response.status_code == 201


async def all_pages(distribute: Distribute, query: str, headers: dict[str, str]) -> list[dict]:
    items, cursor = [], None
    while True:
        path = f"/api/v1/deliveries?{query}&limit=1" + (f"&cursor={cursor}" if cursor else "")
        response = await distribute.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def fail_two_deliver_one(distribute: Distribute, receiver: Receiver) -> None:
    """c1 refused (400, fails at once), c2 out of retries (503 × 4), c3 delivered."""
    await register(distribute, receiver.url)
    receiver.statuses = [400]
    await distribute.publish(ingested("c1"))
    await distribute.dispatch()
    receiver.statuses = [503] * 4
    await distribute.publish(ingested("c2"))
    dispatcher = distribute.dispatcher()
    for _ in range(5):
        await distribute.dispatch(dispatcher)
        await asyncio.sleep(0.08)
    await distribute.publish(ingested("c3"))
    await distribute.dispatch()


async def test_failed_deliveries_across_items_are_paged_for_admins(
    distribute: Distribute, receiver: Receiver
) -> None:
    await fail_two_deliver_one(distribute, receiver)
    failed = await all_pages(distribute, "state=failed", ADMIN)
    assert [(d["content_id"], d["channel"]) for d in failed] == [
        ("c1", "webhook"),
        ("c2", "webhook"),
    ]
    assert failed[0]["last_error"].startswith("HTTP 400") and failed[1]["attempts"] == 4
    editor = await distribute.client.get("/api/v1/deliveries?state=failed", headers=EDITOR)
    assert editor.status_code == 403
    one_item = await distribute.client.get(
        "/api/v1/deliveries?state=failed&content_id=c1", headers=EDITOR
    )
    assert one_item.status_code == 200 and len(one_item.json()["items"]) == 1  # content page
    city_admin = staff("city-admin", ("admin",), sites=["city"])
    assert await all_pages(distribute, "state=failed", city_admin) == []  # province items


async def test_retry_of_a_failed_delivery_is_a_new_attempt_with_the_same_id_and_audited(
    distribute: Distribute, receiver: Receiver
) -> None:
    await fail_two_deliver_one(distribute, receiver)
    [_, dead] = await all_pages(distribute, "state=failed", ADMIN)
    path = f"/api/v1/deliveries/{dead['id']}/retry"
    assert (await distribute.client.post(path, headers=EDITOR)).status_code == 403

    receiver.statuses = [503]  # the fresh budget survives one more failure
    retried = await distribute.client.post(path, headers=ADMIN)
    assert retried.status_code == 202, retried.text
    assert retried.json()["state"] == "pending" and retried.json()["attempts"] == 4
    again = await distribute.client.post(path, headers=ADMIN)
    assert again.status_code == 409  # pending: it will be attempted anyway
    dispatcher = distribute.dispatcher()
    await distribute.dispatch(dispatcher)
    assert (await distribute.client.get(f"/api/v1/deliveries/{dead['id']}", headers=ADMIN)).json()[
        "state"
    ] == "pending"
    await asyncio.sleep(0.08)
    await distribute.dispatch(dispatcher)

    detail = (await distribute.client.get(f"/api/v1/deliveries/{dead['id']}", headers=ADMIN)).json()
    assert detail["state"] == "delivered" and detail["attempts"] == 6
    assert [a["number"] for a in detail["log"]] == [1, 2, 3, 4, 5, 6]
    assert [a["outcome"] for a in detail["log"]][-3:] == ["failed", "retry", "delivered"]
    [action] = detail["actions"]
    assert action["action"] == "retry" and action["actor_id"] == "admin"
    assert action["from_state"] == "failed"
    c2_ids = {r["id"] for r in receiver.received if r["payload"]["data"]["content_id"] == "c2"}
    assert c2_ids == {dead["id"]}  # every attempt, before and after the retry, one webhook-id
    updates = [u for u in await distribute.outbox("delivery.updated") if u["content_id"] == "c2"]
    assert any(u["detail"] == "retry requested by admin" for u in updates)
    published = [p["content_id"] for p in await distribute.outbox("content.published")]
    assert published.count("c2") == 1
    assert await all_pages(distribute, "state=failed", ADMIN) != []  # c1 is still dead


async def test_only_failed_webhook_deliveries_are_retried(
    distribute: Distribute, receiver: Receiver
) -> None:
    await fail_two_deliver_one(distribute, receiver)
    items = (await distribute.client.get("/api/v1/deliveries?content_id=c3", headers=ADMIN)).json()[
        "items"
    ]
    for delivery in items:  # the portal and the webhook delivery, both delivered
        response = await distribute.client.post(
            f"/api/v1/deliveries/{delivery['id']}/retry", headers=ADMIN
        )
        assert response.status_code == 409, delivery
    missing = await distribute.client.post("/api/v1/deliveries/nope/retry", headers=ADMIN)
    assert missing.status_code == 404
    [dead, _] = await all_pages(distribute, "state=failed", ADMIN)
    city_admin = staff("city-admin", ("admin",), sites=["city"])
    hidden = await distribute.client.post(
        f"/api/v1/deliveries/{dead['id']}/retry", headers=city_admin
    )
    assert hidden.status_code == 404


async def test_stuck_deliveries_are_listed(distribute: Distribute, receiver: Receiver) -> None:
    await register(distribute, receiver.url)
    await distribute.publish(ingested("c1"))
    await distribute.publish(ingested("c2"))
    await distribute.publish(ingested("c3"))
    short_lease = distribute.settings.model_copy(
        update={
            # long enough that a loaded machine lists c1 before its lease runs out
            "webhook_lease_seconds": 1.5,
            "webhook_timeout_seconds": 0.1,
            "webhook_batch_size": 1,
        }
    )
    crashed = WebhookDispatcher(short_lease, distribute.dispatcher().sender)
    claims = await distribute.claim(crashed, 1)
    assert [c.delivery_id for c in claims]  # c1 claimed; its process died
    long_ago = utcnow() - timedelta(hours=1)
    async with distribute.app.state.db.sessions() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.content_id == "c2", Delivery.channel == "webhook")
            .values(next_attempt_at=long_ago)  # due an hour ago, nobody sent it
        )
        await session.commit()
    early = await all_pages(distribute, "state=stuck", ADMIN)
    assert [d["content_id"] for d in early] == ["c2"]  # c1's lease is still running
    await asyncio.sleep(1.6)
    stuck = await all_pages(distribute, "state=stuck", ADMIN)
    assert [(d["content_id"], d["state"]) for d in stuck] == [("c1", "sending"), ("c2", "pending")]
    editor = await distribute.client.get("/api/v1/deliveries?state=stuck", headers=EDITOR)
    assert editor.status_code == 403
