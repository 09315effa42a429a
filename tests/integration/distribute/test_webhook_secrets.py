"""Webhook signing secrets are sealed at rest, shown once, and still sign every delivery."""

from __future__ import annotations

from sqlalchemy import select, text

from common.events import utcnow
from common.secretbox import PREFIX, SecretBox
from services.distribute.dispatch import WebhookDispatcher
from services.distribute.models import Delivery, WebhookEndpoint
from services.distribute.webhook_endpoints import seal_plain_secrets
from tests.integration.distribute.conftest import ADMIN, SECRET, Distribute, Receiver, ingested


async def stored_secret(distribute: Distribute, endpoint_id: str) -> str:
    """The raw column value, read with plain SQL (no model in between)."""
    query = text("SELECT secret FROM webhook_endpoint WHERE id = :id")
    async with distribute.app.state.db.engine.connect() as conn:
        return (await conn.execute(query, {"id": endpoint_id})).scalar_one()


async def test_secret_is_sealed_at_rest_and_still_signs(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET}
    created = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    assert created.status_code == 201 and created.json()["secret"] == SECRET
    stored = await stored_secret(distribute, created.json()["id"])
    assert stored.startswith(PREFIX) and SECRET not in stored
    assert SECRET.removeprefix("whsec_") not in stored
    assert SecretBox(distribute.settings.data_key).open(stored) == SECRET

    await distribute.publish(ingested("c1"))
    assert await distribute.dispatch() == 1
    assert receiver.rejected == 0 and len(receiver.accepted()) == 1  # signature verified


async def test_generated_secret_is_shown_once_and_replayed_by_idempotency_key(
    distribute: Distribute,
) -> None:
    body = {"url": "https://hooks.example.gov.cn/k"}
    headers = {**ADMIN, "Idempotency-Key": "reg-sealed"}
    first = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    stored = await stored_secret(distribute, first.json()["id"])
    assert stored.startswith(PREFIX) and secret not in stored
    again = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    assert again.json()["secret"] == secret  # the replay of the creating reply
    same_secret = {**body, "secret": secret}
    explicit = await distribute.client.post(
        "/api/v1/webhook-endpoints", json=same_secret, headers=headers
    )
    assert explicit.status_code == 422  # another request under the same key
    assert explicit.json()["errors"][0]["field"] == "Idempotency-Key"
    listed = await distribute.client.get("/api/v1/webhook-endpoints", headers=ADMIN)
    one = await distribute.client.get(
        f"/api/v1/webhook-endpoints/{first.json()['id']}", headers=ADMIN
    )
    assert "secret" not in listed.json()["items"][0] and "secret" not in one.json()


async def test_plain_secret_from_before_sealing_still_signs_and_is_sealed_at_start(
    distribute: Distribute, receiver: Receiver
) -> None:
    async with distribute.app.state.db.sessions() as session:
        session.add(
            WebhookEndpoint(
                id="ep_legacy",
                url=receiver.url,
                secret=SECRET,
                events=["content.published"],
                created_at=utcnow(),
            )
        )
        await session.commit()
    await distribute.publish(ingested("c1"))
    assert await distribute.dispatch() == 1
    assert receiver.rejected == 0 and len(receiver.accepted()) == 1

    box = SecretBox(distribute.settings.data_key)
    async with distribute.app.state.db.sessions() as session:
        assert await seal_plain_secrets(session, box) == 1
        await session.commit()
    stored = await stored_secret(distribute, "ep_legacy")
    assert stored.startswith(PREFIX) and box.open(stored) == SECRET
    async with distribute.app.state.db.sessions() as session:
        assert await seal_plain_secrets(session, box) == 0  # sealed once, not twice


async def test_secret_sealed_with_another_key_is_not_sent(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET}
    await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    await distribute.publish(ingested("c1"))
    wrong_key = distribute.settings.model_copy(update={"data_key": "some-other-key"})
    dispatcher = WebhookDispatcher(wrong_key, distribute.dispatcher().sender)
    assert await distribute.dispatch(dispatcher) == 0
    assert receiver.received == []
    async with distribute.app.state.db.sessions() as session:
        query = select(Delivery).where(Delivery.channel == "webhook")
        delivery = (await session.execute(query)).scalar_one()
    assert delivery.state == "pending" and "data key" in delivery.last_error
    assert delivery.attempts == 0  # not an attempt: nothing was sent


async def test_data_key_rotation_reseals_at_start_and_keeps_signing(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET}
    created = await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    old_key = distribute.settings.data_key
    rotated = distribute.settings.model_copy(
        update={"data_key": "the-new-data-key", "data_key_previous": [old_key]}
    )
    box = SecretBox.from_settings(rotated)
    async with distribute.app.state.db.sessions() as session:
        assert await seal_plain_secrets(session, box) == 1  # re-sealed under the new key
        await session.commit()
    stored = await stored_secret(distribute, created.json()["id"])
    assert SecretBox("the-new-data-key").open(stored) == SECRET

    await distribute.publish(ingested("c1"))
    dispatcher = WebhookDispatcher(rotated, distribute.dispatcher().sender)
    assert await distribute.dispatch(dispatcher) == 1
    assert receiver.rejected == 0 and len(receiver.accepted()) == 1
