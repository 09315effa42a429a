"""The whole flow across processes over Kafka: submit → review → publish → read."""

from __future__ import annotations

import base64
from pathlib import Path

import feedparser

from common.testing import database_kind_under_test
from tests.e2e.hub import REVIEWERS, HubClient, notice, running_hub, wait_for
from tests.e2e.receiver import webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"e2e-webhook-secret-0123456789").decode()


async def test_submit_review_publish_read(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            await check_flow(hub)
            await check_bad_input(hub)
            await check_one_openapi(hub)
        finally:
            await hub.close()


async def check_flow(hub: HubClient) -> None:
    admin = await hub.login("admin")
    async with webhook_receiver(WEBHOOK_SECRET) as (hook_url, received):
        endpoint = await hub.http.post(
            "/api/v1/webhook-endpoints",
            headers=admin,
            json={"url": hook_url, "secret": WEBHOOK_SECRET},
        )
        assert endpoint.status_code == 201, endpoint.text

        accepted = await hub.submit(notice(1))
        content_id = accepted["id"]
        assert accepted["status"] == "ingested" and accepted["version"] == 1

        task = await hub.task_for(content_id, "reviewer1")
        assert task["content_id"] == content_id and task["version"] == 1
        assert task["stage"] == "初审" and isinstance(task["findings"], list)

        async def in_review() -> bool:  # ingest learns it from review.started, a hop later
            return (await hub.content(content_id))["status"] == "in_review"

        await wait_for(in_review, within=30)

        # the author never approves; no one signs two stages
        assert (await hub.decide(task["id"], "editor")).status_code == 403
        assert (await hub.decide(task["id"], "reviewer1")).status_code in (200, 201)
        assert (await hub.decide(task["id"], "reviewer1")).status_code == 403
        for reviewer in REVIEWERS[1:]:
            response = await hub.decide(task["id"], reviewer)
            assert response.status_code in (200, 201), response.text

        async def published() -> dict | None:
            item = await hub.content(content_id)
            return item if item["status"] == "published" else None

        item = await wait_for(published, within=30)
        assert item["content_hash"] == accepted["content_hash"]
        assert len(item["reviews"]) >= 1 and item["deliveries"]
        assert all(d["state"] == "delivered" for d in item["deliveries"]), item["deliveries"]
        history = [h["status"] for h in item["history"]]
        assert history[:2] == ["ingested", "in_review"] and history[-1] == "published"

        listed = await hub.column_items("province", "notices")
        assert [i["id"] for i in listed] == [content_id]
        feed = feedparser.parse((await hub.http.get("/feeds/province/notices.rss")).content)
        assert not feed.bozo and feed.entries[0].title == notice(1)["title"]
        json_feed = (await hub.http.get("/feeds/province/notices.json")).json()
        assert json_feed["version"] == "https://jsonfeed.org/version/1.1"

        async def hooked() -> bool:
            return any(
                p.get("data", p).get("content_id") == content_id for p in received.by_id.values()
            )

        await wait_for(hooked, within=30)
        assert received.rejected == 0


async def check_bad_input(hub: HubClient) -> None:
    editor = await hub.login("editor")
    before = (await hub.http.get("/api/v1/contents", headers=editor)).json()["items"]
    refusals = [
        ({"content": b"{oops", "headers": {**editor, "content-type": "application/json"}}, 400),
        ({"json": {**notice(2), "columns": "notices"}, "headers": editor}, 422),
        ({"json": {**notice(2), "site": "atlantis"}, "headers": editor}, 422),
        ({"json": {**notice(2), "columns": ["nope"]}, "headers": editor}, 422),
        ({"json": {**notice(2), "body_text": "字" * 3_000_000}, "headers": editor}, 413),
        ({"json": notice(2)}, 401),
        ({"json": notice(2), "headers": {"authorization": "Bearer forged"}}, 401),
        ({"json": notice(2), "headers": await hub.login("reviewer1")}, 403),
    ]
    for kwargs, status in refusals:
        response = await hub.http.post("/api/v1/contents", **kwargs)
        assert response.status_code == status, (status, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status
    after = (await hub.http.get("/api/v1/contents", headers=editor)).json()["items"]
    assert len(after) == len(before)
    unknown = await hub.http.post(
        "/api/v1/reviews/does-not-exist/decisions",
        json={"decision": "approve", "comment": ""},
        headers=await hub.login("reviewer1"),
    )
    assert unknown.status_code == 404


async def check_one_openapi(hub: HubClient) -> None:
    """The gateway's OpenAPI lists its own paths and every service's public paths."""
    paths = (await hub.http.get("/openapi.json")).json()["paths"]
    assert "/api/v1/auth/token" in paths and "/api/v1/contents" in paths
    for prefix in ("/api/v1/reviews", "/api/v1/sites", "/feeds/", "/api/v1/cases", "/open311/"):
        assert any(p.startswith(prefix) for p in paths), prefix
    assert (await hub.http.get("/docs")).status_code == 200
