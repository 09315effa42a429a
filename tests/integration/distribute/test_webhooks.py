"""Outbound webhooks: endpoints, signed deliveries to a real receiver, retries, replay, crashes."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from common.idempotency import IdempotencyStore, request_hash
from common.jobs import Job, run_pass
from services.distribute.dispatch import WebhookDispatcher
from services.distribute.models import DeliveryAttempt, WebhookEndpoint, idempotency_records
from services.distribute.webhooks import SendResult
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    ingested,
)


async def register(distribute: Distribute, url: str, **extra: object) -> dict:
    body = {"url": url, "secret": SECRET, **extra}
    response = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(distribute: Distribute, content_id: str) -> list[dict]:
    response = await distribute.client.get(
        f"/api/v1/deliveries?content_id={content_id}", headers=EDITOR
    )
    return response.json()["items"]


def webhook_of(items: list[dict]) -> dict:
    return next(d for d in items if d["channel"] == "webhook")


async def test_endpoint_secret_is_shown_once(distribute: Distribute) -> None:
    body = {"url": "https://hooks.example.gov.cn/kitchen", "events": ["content.published"]}
    created = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert created.status_code == 201
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["content.published"]
    listed = (await distribute.client.get("/api/v1/webhook-endpoints", headers=ADMIN)).json()
    assert [e["id"] for e in listed["items"]] == [endpoint["id"]]
    assert "secret" not in listed["items"][0]
    one = await distribute.client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN)
    assert "secret" not in one.json()
    deleted = await distribute.client.delete(
        f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN
    )
    assert deleted.status_code == 204
    gone = await distribute.client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN)
    assert gone.status_code == 404


async def test_bad_endpoints_are_refused_and_write_nothing(distribute: Distribute) -> None:
    cases = [
        ({"url": "not a url"}, ADMIN, 422, "body.url"),
        ({"url": "ftp://files.example.org/"}, ADMIN, 422, "body.url"),
        (
            {"url": "https://h.example.org/", "events": ["content.eaten"]},
            ADMIN,
            422,
            "body.events.0",
        ),
        ({"url": "https://h.example.org/", "events": []}, ADMIN, 422, "body.events"),
        ({"url": "https://h.example.org/", "secret": "whsec_!!"}, ADMIN, 422, "body.secret"),
        ({"url": "https://h.example.org/", "site": "nowhere"}, ADMIN, 422, "site"),
        ({"url": 42}, ADMIN, 422, "body.url"),
        ({"url": "https://h.example.org/"}, EDITOR, 403, None),
        ({"url": "https://h.example.org/"}, {}, 401, None),
    ]
    for body, headers, status, field in cases:
        response = await distribute.client.post(
            "/api/v1/webhook-endpoints", json=body, headers=headers
        )
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert field in [e["field"] for e in response.json()["errors"]], response.text
    async with distribute.app.state.db.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(WebhookEndpoint))).scalar()
    assert count == 0


async def test_delivery_is_signed_and_completes_the_release(
    distribute: Distribute, receiver: Receiver
) -> None:
    endpoint = await register(distribute, receiver.url)
    await register(distribute, receiver.url + "?elsewhere", site="city")  # other site: not sent
    item = ingested("c1")
    await distribute.publish(item)
    pending = webhook_of(await deliveries(distribute, "c1"))
    assert pending["state"] == "pending" and pending["target"] == f"webhook:{endpoint['id']}"
    assert await distribute.outbox("content.published") == []  # the webhook is a target too

    assert await distribute.dispatch() == 1
    [got] = receiver.received
    assert got["id"] == pending["id"] and got["payload"]["type"] == "content.published"
    data = got["payload"]["data"]
    assert data["content_id"] == "c1" and data["content_hash"] == item.content_hash
    assert data["page_tags"]["SiteIDCode"] == "5100000001"
    assert webhook_of(await deliveries(distribute, "c1"))["state"] == "delivered"
    [published] = await distribute.outbox("content.published")
    assert len(published["targets"]) == 2
    assert await distribute.dispatch() == 0 and len(receiver.received) == 1


async def test_retries_keep_the_webhook_id_and_log_attempts(
    distribute: Distribute, receiver: Receiver
) -> None:
    await register(distribute, receiver.url)
    receiver.statuses = [500, 429]
    await distribute.publish(ingested("c1"))
    dispatcher = distribute.dispatcher()
    for _ in range(3):
        await distribute.dispatch(dispatcher)
        await asyncio.sleep(0.08)  # the test schedule waits 50 ms between attempts
    assert [r["status"] for r in receiver.received] == [500, 429, 204]
    assert len({r["id"] for r in receiver.received}) == 1
    delivery = webhook_of(await deliveries(distribute, "c1"))
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    detail = (
        await distribute.client.get(f"/api/v1/deliveries/{delivery['id']}", headers=EDITOR)
    ).json()
    assert [a["outcome"] for a in detail["log"]] == ["retry", "retry", "delivered"]
    assert [a["status_code"] for a in detail["log"]] == [500, 429, 204]
    states = [u["state"] for u in await distribute.outbox("delivery.updated")]
    assert states == ["delivered", "pending", "retrying", "retrying", "delivered"]


async def test_failing_twice_then_succeeding_is_announced_and_visible(
    distribute: Distribute, receiver: Receiver
) -> None:
    """Every failed attempt that will be retried says so: a `retrying` event (attempt, next
    attempt time, error) in the settle's transaction, and the delivery log shows the same."""
    from datetime import datetime

    await register(distribute, receiver.url)
    receiver.statuses = [500, 503]
    await distribute.publish(ingested("c1"))
    dispatcher = distribute.dispatcher()
    seen = []
    for attempt, status in [(1, 500), (2, 503)]:
        before = datetime.now().astimezone()
        await distribute.dispatch(dispatcher)
        delivery = webhook_of(await deliveries(distribute, "c1"))
        assert delivery["state"] == "pending" and delivery["attempts"] == attempt
        assert delivery["last_error"].startswith(f"HTTP {status}")
        next_at = datetime.fromisoformat(delivery["next_attempt_at"])
        assert before <= next_at.replace(microsecond=999_999)
        retrying = [
            u for u in await distribute.outbox("delivery.updated") if u["state"] == "retrying"
        ]
        assert len(retrying) == attempt
        event = retrying[-1]
        assert event["target"] == delivery["target"] and event["content_id"] == "c1"
        assert event["detail"].startswith(f"attempt {attempt} failed; next attempt at ")
        assert delivery["next_attempt_at"] in event["detail"]
        assert f"HTTP {status}" in event["detail"]
        seen.append(event)
        await asyncio.sleep(0.08)
    await distribute.dispatch(dispatcher)
    delivery = webhook_of(await deliveries(distribute, "c1"))
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert delivery["next_attempt_at"] is None
    webhook_states = [
        u["state"]
        for u in await distribute.outbox("delivery.updated")
        if u["target"] == delivery["target"]
    ]
    assert webhook_states == ["pending", "retrying", "retrying", "delivered"]
    assert len(await distribute.outbox("content.published")) == 1


async def test_client_error_fails_at_once_and_replay_recovers(
    distribute: Distribute, receiver: Receiver
) -> None:
    await register(distribute, receiver.url)
    receiver.statuses = [400]
    await distribute.publish(ingested("c1"))
    await distribute.dispatch()
    delivery = webhook_of(await deliveries(distribute, "c1"))
    assert delivery["state"] == "failed" and delivery["last_error"].startswith("HTTP 400")
    assert await distribute.dispatch() == 0  # no retry after a 4xx
    assert await distribute.outbox("content.published") == []

    path = f"/api/v1/deliveries/{delivery['id']}/replay"
    assert (await distribute.client.post(path, headers=EDITOR)).status_code == 403
    replayed = await distribute.client.post(path, headers=ADMIN)
    assert replayed.status_code == 202 and replayed.json()["state"] == "pending"
    await distribute.dispatch()
    assert [r["id"] for r in receiver.received] == [delivery["id"]] * 2
    assert webhook_of(await deliveries(distribute, "c1"))["state"] == "delivered"
    assert len(await distribute.outbox("content.published")) == 1
    detail = (
        await distribute.client.get(f"/api/v1/deliveries/{delivery['id']}", headers=ADMIN)
    ).json()
    assert [a["number"] for a in detail["log"]] == [1, 2]  # numbering goes on after a replay
    assert [(a["action"], a["actor_id"]) for a in detail["actions"]] == [("replay", "admin")]

    portal = next(d for d in await deliveries(distribute, "c1") if d["channel"] == "portal")
    conflict = await distribute.client.post(
        f"/api/v1/deliveries/{portal['id']}/replay", headers=ADMIN
    )
    assert conflict.status_code == 409
    missing = await distribute.client.post("/api/v1/deliveries/nope/replay", headers=ADMIN)
    assert missing.status_code == 404


async def test_retry_budget_runs_out(distribute: Distribute, receiver: Receiver) -> None:
    await register(distribute, receiver.url)
    receiver.statuses = [503] * 10
    await distribute.publish(ingested("c1"))
    dispatcher = distribute.dispatcher()
    for _ in range(5):
        await distribute.dispatch(dispatcher)
        await asyncio.sleep(0.08)
    assert len(receiver.received) == 4  # first attempt + three scheduled retries
    delivery = webhook_of(await deliveries(distribute, "c1"))
    assert delivery["state"] == "failed" and delivery["attempts"] == 4


async def test_unknown_outcome_after_a_crash_resends_with_the_same_id(
    distribute: Distribute, receiver: Receiver
) -> None:
    await register(distribute, receiver.url)
    await distribute.publish(ingested("c1"))
    short_lease = distribute.settings.model_copy(
        update={"webhook_lease_seconds": 1.0, "webhook_timeout_seconds": 0.5}
    )
    crashed = WebhookDispatcher(short_lease, distribute.dispatcher().sender)
    [claim] = await distribute.claim(crashed, 10)
    # the process dies after sending, before recording the outcome
    await crashed.sender.send(claim.url, claim.secret, claim.delivery_id, claim.payload)
    assert await distribute.dispatch() == 0  # leased: nobody else takes it meanwhile
    await asyncio.sleep(1.1)
    assert await distribute.dispatch(WebhookDispatcher(short_lease, crashed.sender)) == 1
    assert [r["id"] for r in receiver.received] == [claim.delivery_id] * 2  # receiver dedupes
    delivery = webhook_of(await deliveries(distribute, "c1"))
    assert delivery["state"] == "delivered" and delivery["attempts"] == 2
    async with distribute.app.state.db.sessions() as session:
        logged = (await session.execute(select(func.count()).select_from(DeliveryAttempt))).scalar()
    assert logged == 1  # the lost attempt left no log row; the delivery counts it
    assert len(await distribute.outbox("content.published")) == 1


async def test_deleted_endpoint_gets_nothing(distribute: Distribute, receiver: Receiver) -> None:
    endpoint = await register(distribute, receiver.url)
    await distribute.publish(ingested("c1"))
    await distribute.client.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN)
    assert await distribute.dispatch() == 0
    assert receiver.received == []
    assert webhook_of(await deliveries(distribute, "c1"))["state"] == "cancelled"
    [published] = await distribute.outbox("content.published")  # no longer waits for it
    assert published["targets"] == ["portal:province/notices"]


async def test_one_endpoint_cannot_take_every_slot(
    distribute: Distribute, receiver: Receiver
) -> None:
    slow = await register(distribute, receiver.url + "?slow")
    other = await register(distribute, receiver.url + "?other", site="city")
    for n in range(3):
        await distribute.publish(ingested(f"p{n}"))
    await distribute.publish(ingested("town", site="city", columns=["news"]))
    capped = distribute.settings.model_copy(update={"webhook_endpoint_concurrency": 1})
    dispatcher = WebhookDispatcher(capped, distribute.dispatcher().sender)
    claims = await distribute.claim(dispatcher, 10)
    assert sorted(c.endpoint_id for c in claims) == sorted([slow["id"], other["id"]])
    assert await distribute.claim(dispatcher, 10) == []  # both at their cap
    for claim in claims:
        dispatcher.busy[claim.endpoint_id] -= 1  # as if those sends finished
    assert len(await distribute.claim(dispatcher, 10)) == 1  # the next of `slow`


async def test_registration_retried_with_an_idempotency_key(distribute: Distribute) -> None:
    body = {"url": "https://hooks.example.gov.cn/a"}
    headers = {**ADMIN, "Idempotency-Key": "reg-1"}
    first = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    again = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = {"url": "https://hooks.example.gov.cn/b"}
    clash = await distribute.client.post("/api/v1/webhook-endpoints", json=other, headers=headers)
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "Idempotency-Key"
    listed = (await distribute.client.get("/api/v1/webhook-endpoints", headers=ADMIN)).json()
    assert len(listed["items"]) == 1


async def test_gone_switches_the_endpoint_off(distribute: Distribute, receiver: Receiver) -> None:
    endpoint = await register(distribute, receiver.url)
    receiver.statuses = [410]
    await distribute.publish(ingested("c1"))
    await distribute.publish(ingested("c2"))
    dispatcher = distribute.dispatcher()
    capped = distribute.settings.model_copy(update={"webhook_batch_size": 1})
    dispatcher = WebhookDispatcher(capped, dispatcher.sender)
    await distribute.dispatch(dispatcher)  # c1: 410
    await distribute.dispatch(dispatcher)  # c2: cancelled, never sent
    assert [r["status"] for r in receiver.received] == [410]
    states = {
        d["content_id"]: d["state"]
        for c in ("c1", "c2")
        for d in await deliveries(distribute, c)
        if d["channel"] == "webhook"
    }
    assert states == {"c1": "failed", "c2": "cancelled"}
    gone = await distribute.client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN)
    assert gone.status_code == 404


async def test_registration_in_flight_is_a_409(distribute: Distribute) -> None:
    """A retry while the first request with the key still runs waits, then answers 409."""
    distribute.deps.idempotency = IdempotencyStore(idempotency_records, wait_seconds=0.1)
    body = b'{"url":"https://hooks.example.gov.cn/busy"}'
    path = "/api/v1/webhook-endpoints"
    digest = request_hash("POST", path, body)
    store, database = distribute.deps.idempotency, distribute.app.state.db
    await store.claim(database, "admin", "reg-busy", digest)  # the first is still running
    headers = {**ADMIN, "Idempotency-Key": "reg-busy", "content-type": "application/json"}
    busy = await distribute.client.post(path, content=body, headers=headers)
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1"
    listed = (await distribute.client.get(path, headers=ADMIN)).json()
    assert listed["items"] == []


class HeldSender:
    """Answers 204 at once, except to URLs containing `slow`, which wait for `release`."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> SendResult:
        if "slow" in url:
            await self.release.wait()
        return SendResult(204, "", 1)


async def test_a_slow_receiver_holds_its_sends_not_the_job(
    distribute: Distribute, receiver: Receiver
) -> None:
    slow = await register(distribute, f"{receiver.url}?slow")
    fast = await register(distribute, receiver.url)
    await distribute.publish(ingested("c1"))
    sender = HeldSender()
    dispatcher = WebhookDispatcher(distribute.settings, sender)
    job = Job("webhooks", dispatcher.step, distribute.settings.webhook_poll_seconds, batch=1)

    assert await run_pass(distribute.app.state.db, job) == 3  # both started, `fast` settled
    states = {d["endpoint_id"]: d["state"] for d in await deliveries(distribute, "c1")}
    assert states[fast["id"]] == "delivered" and states[slow["id"]] == "sending"
    await distribute.publish(ingested("c2"))  # the next passes go on meanwhile
    await run_pass(distribute.app.state.db, job)
    states = {d["endpoint_id"]: d["state"] for d in await deliveries(distribute, "c2")}
    assert states[fast["id"]] == "delivered" and states[slow["id"]] == "sending"

    sender.release.set()
    assert await run_pass(distribute.app.state.db, job) == 2  # both slow sends came back
    for item in ("c1", "c2"):
        webhooks = [d for d in await deliveries(distribute, item) if d["channel"] == "webhook"]
        assert {d["state"] for d in webhooks} == {"delivered"}
    assert not dispatcher.inflight and sum(dispatcher.busy.values()) == 0
