"""The full case flow over the real broker: every transition and the scheduler's alarms arrive
on their `case.*` topics, keyed by case id, in order."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import orjson
from asgi_lifespan import LifespanManager

from common.bus import new_consumer
from common.events import all_topics
from services.interaction.app import create_app
from services.interaction.clock import FixedClock, shanghai
from tests.integration.interaction.conftest import ADMIN, HANDLER, OFFICE, settings_for, submit

REPLY = {"text": "已处理完毕。", "outcome": "resolved", "reason": "已处理"}


async def test_case_flow_arrives_on_kafka(
    kafka_bootstrap: str, kafka_prefix: str, database_url: str
) -> None:
    clock = FixedClock(shanghai(2025, 9, 26, 10))
    settings = settings_for(
        database_url,
        process_role="all",
        kafka_bootstrap=kafka_bootstrap,
        kafka_topic_prefix=kafka_prefix,
        scheduler_interval_seconds=0.1,
    )
    topics = [t for t in all_topics() if t.startswith("case.") and not t.endswith(".dlq")]
    consumer = new_consumer(settings, f"test-{uuid.uuid4().hex[:8]}", topics)
    await consumer.start()
    app = create_app(settings, clock=clock)
    try:
        async with LifespanManager(app, startup_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
                await client.put(
                    "/api/v1/departments/edu", json={"code": "edu", "name": "教育局"}, headers=ADMIN
                )
                number = (await submit(client, clock))["number"]
                for action, body, who in (
                    ("accept", None, OFFICE),
                    ("dispatch", {"lead_department": "edu"}, OFFICE),
                    ("start", None, HANDLER),
                ):
                    assert (
                        await client.post(
                            f"/api/v1/cases/{number}/{action}", json=body, headers=who
                        )
                    ).status_code == 200
                clock.set(
                    shanghai(2025, 10, 14, 9)
                )  # past the due date: the running scheduler fires
                await asyncio.sleep(0.5)
                await client.post(f"/api/v1/cases/{number}/reply", json=REPLY, headers=HANDLER)
                await client.post(f"/api/v1/cases/{number}/reply/approve", headers=OFFICE)
                expected = [
                    "received", "accept", "dispatch", "start", "deadline_warning_t-2",
                    "deadline_warning_t-1", "deadline_breached", "submit_reply", "reply",
                ]  # fmt: skip
                received: list[tuple[str, str, str]] = []
                async with asyncio.timeout(40):
                    while len(received) < len(expected):
                        batch = await consumer.getmany(timeout_ms=500)
                        for records in batch.values():
                            for record in records:
                                data = orjson.loads(record.value)["data"]
                                if data["number"] == number:
                                    received.append(
                                        (
                                            record.topic.removeprefix(kafka_prefix),
                                            record.key.decode(),
                                            data["action"],
                                        )
                                    )
                received.sort(key=lambda r: expected.index(r[2]))  # topics interleave; one key
                assert [r[2] for r in received] == expected
                assert {r[1] for r in received} == {received[0][1]}  # key = case id
                assert (
                    received[6][0] == "case.deadline_breached" and received[-1][0] == "case.replied"
                )
                await asyncio.sleep(0.5)
                assert len(received) == len(expected)
    finally:
        await consumer.stop()
