"""End to end over the real broker: events in, portal + feeds + webhook out, events back out."""

from __future__ import annotations

import asyncio
import uuid

import feedparser
import httpx
import orjson
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from common.bus import new_consumer, new_producer
from common.events import ContentPublished, DeliveryUpdated
from common.settings import ServiceSettings
from services.distribute.app import create_app
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Receiver,
    approved,
    ingested,
    make_settings,
)


async def wait_for(check, app, seconds: float = 45.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, await diagnose(app)
        await asyncio.sleep(0.05)


async def diagnose(app) -> str:  # type: ignore[no-untyped-def]
    """What the service had done when a wait timed out."""
    async with app.state.db.engine.connect() as conn:
        inbox = (await conn.execute(text("SELECT topic FROM inbox"))).all()
        releases = (await conn.execute(text("SELECT state, detail FROM release"))).all()
        deliveries = (await conn.execute(text("SELECT target, state FROM delivery"))).all()
    return f"timed out; ready={app.state.worker.ready()} {inbox=} {releases=} {deliveries=}"


async def read_topics(
    settings: ServiceSettings, topics: list[str], content_id: str, count: int
) -> list[dict]:
    """The first `count` events about `content_id` on `topics`, read by a fresh consumer group."""
    consumer = new_consumer(settings, f"test-{uuid.uuid4().hex}", topics)
    await consumer.start()
    found: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    event = orjson.loads(record.value)
                    if event["data"].get("content_id") == content_id:
                        topic = record.topic.removeprefix(settings.kafka_topic_prefix)
                        found.append({"topic": topic, **event["data"]})
    finally:
        await consumer.stop()
    return found


async def test_events_in_deliveries_and_events_out(
    kafka_bootstrap: str, kafka_prefix: str, database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url,
        process_role="all",
        kafka_bootstrap=kafka_bootstrap,
        kafka_topic_prefix=kafka_prefix,
    )
    app = create_app(settings)
    content_id = uuid.uuid4().hex
    item = ingested(content_id, columns=["news", "policies"])
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://d") as client:
            endpoint = {"url": receiver.url, "secret": SECRET, "site": "province"}
            registered = await client.post(
                "/api/v1/webhook-endpoints", json=endpoint, headers=ADMIN
            )
            assert registered.status_code == 201, registered.text

            producer = new_producer(settings)
            await producer.start()
            try:
                for data in (item, approved(item)):
                    event = data.to_event("/test")
                    await producer.send_and_wait(
                        kafka_prefix + data.TOPIC, event.to_bytes(), key=content_id.encode()
                    )
            finally:
                await producer.stop()

            async def listed() -> bool:
                path = "/api/v1/sites/province/columns/news/items"
                items = (await client.get(path)).json()["items"]
                return any(i["id"] == content_id for i in items)

            await wait_for(listed, app)
            feed = feedparser.parse((await client.get("/feeds/province/news.atom")).content)
            assert not feed.bozo and feed.entries[0].title == item.title

            async def all_delivered() -> list[dict] | None:
                response = await client.get(
                    f"/api/v1/deliveries?content_id={content_id}", headers=EDITOR
                )
                items = response.json()["items"]
                return items if {d["state"] for d in items} == {"delivered"} else None

            deliveries = await wait_for(all_delivered, app)
            assert sorted(d["target"] for d in deliveries) == sorted(
                [
                    "portal:province/news",
                    "portal:province/policies",
                    f"webhook:{registered.json()['id']}",
                ]
            )
            assert [r["payload"]["data"]["content_id"] for r in receiver.accepted()] == [content_id]

            async def relayed() -> bool:  # leave only once the outbox went out to the broker
                async with app.state.db.engine.connect() as conn:
                    query = text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                    return (await conn.execute(query)).scalar() == 0

            await wait_for(relayed, app)

    topics = [ContentPublished.TOPIC, DeliveryUpdated.TOPIC]
    events = await read_topics(settings, topics, content_id, 5)
    [published] = [e for e in events if e["topic"] == ContentPublished.TOPIC]
    assert published["content_hash"] == item.content_hash and len(published["targets"]) == 3
    states = sorted(e["state"] for e in events if e["topic"] == DeliveryUpdated.TOPIC)
    assert states == ["delivered", "delivered", "delivered", "pending"]
