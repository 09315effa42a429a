"""`Idempotency-Key` on the review service's creating requests: a retry replays, nothing doubles."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from common.idempotency import request_hash
from services.review.models import AuditEntry, Decision, LexiconVersion
from tests.integration.review.conftest import ADMIN, R1, R2, ReviewHarness

TEXT_PLAIN = {"content-type": "text/plain; charset=utf-8"}
POLICY = {"stages": [{"name": "审核", "role": "reviewer"}], "confidentiality": "never"}


async def count(review: ReviewHarness, model: type, *where: Any) -> int:
    async with review.app.state.db.sessions() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(query)).scalar_one())


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_a_retried_decision_is_replayed_not_doubled(review: ReviewHarness) -> None:
    data = await review.ingest()
    tid = (await review.task_of(data.content_id))["id"]
    first = await review.decide(tid, keyed(R1, "k-1"))
    again = await review.decide(tid, keyed(R1, "k-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert await count(review, Decision) == 1  # without the key the retry would be a 403

    other = await review.decide(tid, keyed(R1, "k-1"), comment="改主意了")
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(review, Decision) == 1
    # keys belong to their caller: another reviewer's "k-1" is a request of its own
    assert (await review.decide(tid, keyed(R2, "k-1"))).status_code == 201
    assert await count(review, Decision) == 2


async def test_a_refusal_is_not_remembered(review: ReviewHarness) -> None:
    data = await review.ingest(body_text="请访问六合彩官网。")
    tid = (await review.task_of(data.content_id))["id"]
    blocked = await review.decide(tid, keyed(R1, "k-2"))
    assert blocked.status_code == 409
    rejected = await review.decide(tid, keyed(R1, "k-2"), "reject", comment="含赌博内容")
    assert rejected.status_code == 201  # the refused attempt released the key
    replay = await review.decide(tid, keyed(R1, "k-2"), "reject", comment="含赌博内容")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(await review.outbox("review.decided")) == 1


async def test_concurrent_duplicates_make_one_decision(review: ReviewHarness) -> None:
    data = await review.ingest()
    tid = (await review.task_of(data.content_id))["id"]
    answers = await asyncio.gather(*(review.decide(tid, keyed(R1, "k-3")) for _ in range(3)))
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 2
    assert await count(review, Decision) == 1


async def test_lexicon_uploads_and_creation(review: ReviewHarness) -> None:
    url = "/api/v1/lexicons/gambling/versions"
    headers = keyed({**ADMIN, **TEXT_PLAIN}, "upload-1")
    first = await review.client.post(url, content="六合彩\n时时彩".encode(), headers=headers)
    again = await review.client.post(url, content="六合彩\n时时彩".encode(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["version"] == again.json()["version"] == 2
    assert await count(review, LexiconVersion, LexiconVersion.name == "gambling") == 2
    changed = await review.client.post(url, content="百家乐".encode(), headers=headers)
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"

    body = {"name": "extra", "kind": "sensitive", "category": "political", "text": "反动标语"}
    created = [
        await review.client.post("/api/v1/lexicons", json=body, headers=keyed(ADMIN, "new-1"))
        for _ in range(2)
    ]
    assert [c.status_code for c in created] == [201, 201]  # without the key: 201, then 409
    assert await count(review, LexiconVersion, LexiconVersion.name == "extra") == 1


async def test_policy_change_recorded_once(review: ReviewHarness) -> None:
    url = "/api/v1/review-policies/province/notice"
    headers = keyed(ADMIN, "policy-1")
    answers = [await review.client.put(url, json=POLICY, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert await count(review, AuditEntry, AuditEntry.action == "policy.changed") == 1
    other = {**POLICY, "confidentiality": "always"}
    refused = await review.client.put(url, json=other, headers=headers)
    assert refused.status_code == 422


async def test_key_too_long_and_no_key(review: ReviewHarness) -> None:
    data = await review.ingest()
    tid = (await review.task_of(data.content_id))["id"]
    too_long = await review.decide(tid, keyed(R1, "x" * 201))
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "Idempotency-Key"
    plain: httpx.Response = await review.decide(tid, R1)
    assert plain.status_code == 201 and "Idempotent-Replayed" not in plain.headers


async def test_a_duplicate_still_in_flight_is_a_409(review: ReviewHarness) -> None:
    """While the first request with a key runs, a duplicate waits, then gets 409 + Retry-After."""
    data = await review.ingest()
    tid = (await review.task_of(data.content_id))["id"]
    path = f"/api/v1/reviews/{tid}/decisions"
    body = b'{"decision": "approve", "comment": "\\u540c\\u610f"}'
    store = review.app.state.deps.idempotency
    store.wait_seconds = 0.2
    # The first request's claim, as its handler holds it while it runs.
    await store.claim(review.app.state.db, "reviewer1", "k-9", request_hash("POST", path, body))
    headers = {**keyed(R1, "k-9"), "content-type": "application/json"}
    duplicate = await review.client.post(path, content=body, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.headers["Retry-After"] == "1"
    assert duplicate.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(review, Decision) == 0
