"""The flow over the real broker: content.ingested in, review.started/review.decided out."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from common.bus import new_consumer, new_producer
from common.events import CloudEvent, ContentIngested, ReviewDecided, ReviewStarted
from services.review.app import create_app
from services.review.settings import ReviewSettings
from tests.integration.review.conftest import EDITOR, R1, R2, R3, ingested, mock_checks


async def wait_until(predicate: Any, seconds: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await predicate()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_flow_over_kafka(kafka_bootstrap: str, kafka_prefix: str, database_url: str) -> None:
    settings = ReviewSettings(
        database_url=database_url,
        process_role="all",
        kafka_bootstrap=kafka_bootstrap,
        kafka_topic_prefix=kafka_prefix,
    )
    app = create_app(settings, mock_checks(settings))
    data = ingested()
    seen: dict[str, list[dict[str, Any]]] = {ReviewStarted.TOPIC: [], ReviewDecided.TOPIC: []}
    watcher = new_consumer(settings, f"test-review-{data.content_id}", list(seen))
    await watcher.start()

    async def watch() -> None:
        async for record in watcher:
            event = CloudEvent.from_bytes(record.value)
            if event.subject == data.content_id:
                seen[record.topic.removeprefix(kafka_prefix)].append(event.data)

    watching = asyncio.create_task(watch())
    producer = new_producer(settings)
    await producer.start()
    try:
        async with LifespanManager(app, startup_timeout=60) as manager:
            await wait_until(lambda: _true(app.state.worker.ready()))
            event = data.to_event("/kitchen/ingest")
            await producer.send_and_wait(
                kafka_prefix + ContentIngested.TOPIC, event.to_bytes(), key=data.content_id.encode()
            )
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://r") as client:
                task = await wait_until(lambda: _task(client, data.content_id))
                await wait_until(lambda: _true(seen[ReviewStarted.TOPIC]))
                assert seen[ReviewStarted.TOPIC][0]["task_id"] == task["id"]
                for headers in (R1, R2, R3):
                    body = {"decision": "approve", "comment": "同意"}
                    url = f"/api/v1/reviews/{task['id']}/decisions"
                    assert (await client.post(url, json=body, headers=headers)).status_code == 201
                decided = await wait_until(lambda: _true(seen[ReviewDecided.TOPIC]))
        assert decided[0]["decision"] == "approved"
        assert decided[0]["content_hash"] == data.content_hash and decided[0]["version"] == 1
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await watcher.stop()
        await producer.stop()


async def _true(value: Any) -> Any:
    return value


async def _task(client: httpx.AsyncClient, content_id: str) -> dict[str, Any] | None:
    response = await client.get(
        "/api/v1/reviews", params={"content_id": content_id}, headers=EDITOR
    )
    items = response.json()["items"]
    return items[0] if items else None
