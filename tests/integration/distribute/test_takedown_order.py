"""A takedown never overtakes its publication: it waits while the publication's outcome to that
endpoint is unknown, goes out once it was (or may have been) received, and is `not_needed` when
the receiver never accepted it."""

from __future__ import annotations

import asyncio

from common.events import ContentRetractionRequested
from services.distribute.dispatch import Claim, WebhookDispatcher
from services.distribute.webhooks import SendResult
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    ingested,
)


def retraction(content_id: str = "c1") -> ContentRetractionRequested:
    return ContentRetractionRequested(content_id=content_id, reason="内容有误", requested_by="ed")


async def setup(distribute: Distribute, receiver: Receiver) -> WebhookDispatcher:
    body = {"url": receiver.url, "secret": SECRET}
    created = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert created.status_code == 201
    await distribute.publish(ingested("c1"))
    return distribute.dispatcher()


async def webhook_deliveries(distribute: Distribute) -> dict[str, dict]:
    """action -> the webhook delivery of c1."""
    response = await distribute.client.get("/api/v1/deliveries?content_id=c1", headers=EDITOR)
    return {d["action"]: d for d in response.json()["items"] if d["channel"] == "webhook"}


async def claim_one(distribute: Distribute, dispatcher: WebhookDispatcher) -> Claim:
    [claim] = await distribute.claim(dispatcher, 10)
    return claim


async def settle_with(
    distribute: Distribute, dispatcher: WebhookDispatcher, claim: Claim, result: SendResult
) -> None:
    """The in-flight attempt comes back with `result` (as if the receiver answered so)."""
    async with distribute.app.state.db.sessions() as session:
        await dispatcher.settle(session, claim, result)
        await session.commit()


def kinds(receiver: Receiver) -> list[str]:
    return [r["payload"]["type"] for r in receiver.received]


async def test_takedown_waits_for_the_publication_in_flight(
    distribute: Distribute, receiver: Receiver
) -> None:
    dispatcher = await setup(distribute, receiver)
    claim = await claim_one(distribute, dispatcher)  # the publication is being sent
    await distribute.handle(retraction())
    takedown = (await webhook_deliveries(distribute))["retract"]
    assert takedown["state"] == "waiting" and takedown["next_attempt_at"] is None
    assert await distribute.dispatch() == 0  # not sent ahead of the publication

    await distribute.attempt(dispatcher, claim)  # the publication lands
    after = await webhook_deliveries(distribute)
    assert after["publish"]["state"] == "delivered" and after["retract"]["state"] == "pending"
    assert await distribute.dispatch() == 1
    assert kinds(receiver) == ["content.published", "content.retracted"]
    assert (await webhook_deliveries(distribute))["retract"]["state"] == "delivered"
    states = [
        u["state"]
        for u in await distribute.outbox("delivery.updated")
        if u["target"] == takedown["target"]
    ]
    assert states == [
        "pending",
        "retraction_waiting",
        "delivered",
        "retraction_pending",
        "retracted",
    ]


async def test_refused_publication_in_flight_needs_no_takedown(
    distribute: Distribute, receiver: Receiver
) -> None:
    dispatcher = await setup(distribute, receiver)
    claim = await claim_one(distribute, dispatcher)
    await distribute.handle(retraction())
    await settle_with(distribute, dispatcher, claim, SendResult(503, "HTTP 503: busy", 5))
    after = await webhook_deliveries(distribute)
    # would have been retried; retracted meanwhile, so it stops, and nothing reached the receiver
    assert after["publish"]["state"] == "cancelled"
    assert after["publish"]["last_error"].startswith("retracted before retry")
    assert after["retract"]["state"] == "not_needed"
    await asyncio.sleep(0.08)  # past the test retry delay: still nothing goes out
    assert await distribute.dispatch() == 0 and receiver.received == []


async def test_unknown_outcome_in_flight_is_followed_by_a_takedown(
    distribute: Distribute, receiver: Receiver
) -> None:
    dispatcher = await setup(distribute, receiver)
    claim = await claim_one(distribute, dispatcher)
    await distribute.handle(retraction())
    await settle_with(distribute, dispatcher, claim, SendResult(None, "ReadTimeout: ", 2000))
    after = await webhook_deliveries(distribute)
    assert after["publish"]["state"] == "cancelled"  # not published again
    assert after["retract"]["state"] == "pending"  # it may have got it: tell it
    assert await distribute.dispatch() == 1
    assert kinds(receiver) == ["content.retracted"]


async def test_retrying_publication_is_stopped_and_told_only_if_it_may_have_arrived(
    distribute: Distribute, receiver: Receiver
) -> None:
    dispatcher = await setup(distribute, receiver)
    receiver.statuses = [500]
    await distribute.dispatch(dispatcher)  # refused: waits for a retry
    assert (await webhook_deliveries(distribute))["publish"]["state"] == "pending"
    await distribute.handle(retraction())
    after = await webhook_deliveries(distribute)
    assert after["publish"]["state"] == "cancelled"
    assert after["retract"]["state"] == "not_needed"
    await asyncio.sleep(0.08)
    assert await distribute.dispatch() == 0
    assert [r["status"] for r in receiver.received] == [500]


async def test_lost_attempt_after_the_takedown_is_not_resent(
    distribute: Distribute, receiver: Receiver
) -> None:
    dispatcher = await setup(distribute, receiver)
    short_lease = distribute.settings.model_copy(
        update={"webhook_lease_seconds": 0.2, "webhook_timeout_seconds": 0.1}
    )
    crashed = WebhookDispatcher(short_lease, dispatcher.sender)
    await claim_one(distribute, crashed)  # claimed, then the process died
    await distribute.handle(retraction())
    assert (await webhook_deliveries(distribute))["retract"]["state"] == "waiting"
    await asyncio.sleep(0.25)  # the lease expires
    await distribute.dispatch(WebhookDispatcher(short_lease, dispatcher.sender))
    after = await webhook_deliveries(distribute)
    assert after["publish"]["state"] == "cancelled"  # the retracted item is not resent
    assert after["retract"]["state"] in ("pending", "delivered")  # the lost attempt may have landed
    await distribute.dispatch()
    assert kinds(receiver) == ["content.retracted"]
    assert (await webhook_deliveries(distribute))["retract"]["state"] == "delivered"


async def test_retracted_publication_and_waiting_takedown_cannot_be_replayed(
    distribute: Distribute, receiver: Receiver
) -> None:
    dispatcher = await setup(distribute, receiver)
    claim = await claim_one(distribute, dispatcher)
    await distribute.handle(retraction())
    waiting = (await webhook_deliveries(distribute))["retract"]
    early = await distribute.client.post(
        f"/api/v1/deliveries/{waiting['id']}/replay", headers=ADMIN
    )
    assert early.status_code == 409
    await settle_with(distribute, dispatcher, claim, SendResult(400, "HTTP 400: no", 3))
    publication = (await webhook_deliveries(distribute))["publish"]
    assert publication["state"] == "failed"
    assert (await webhook_deliveries(distribute))["retract"]["state"] == "not_needed"
    again = await distribute.client.post(
        f"/api/v1/deliveries/{publication['id']}/replay", headers=ADMIN
    )
    assert again.status_code == 409 and "retracted" in again.json()["detail"]
