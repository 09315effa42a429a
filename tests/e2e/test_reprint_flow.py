"""Reprint linkage across processes over Kafka: a rule of the provincial portal → the original
published → distribute asks (`reprint.requested`) → ingest makes the city's reprint → reviewed
and published → the obligation is live; the original retracted → the reprint follows it down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.testing import database_kind_under_test
from tests.e2e.hub import REVIEWERS, HubClient, notice, running_hub, wait_for


async def test_reprint_rule_to_live_reprint_and_back_down(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            await check_reprint_flow(hub)
        finally:
            await hub.close()


async def obligation(hub: HubClient, site: str) -> dict[str, Any] | None:
    response = await hub.http.get(
        "/api/v1/reprints", params={"site": site}, headers=await hub.login("admin")
    )
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items[0] if items else None


async def review_through(hub: HubClient, content_id: str) -> None:
    """Sign every stage the item's review has (a reprint may have fewer)."""
    task = await hub.task_for(content_id, REVIEWERS[0])
    for reviewer in REVIEWERS:
        current = await hub.http.get(
            f"/api/v1/reviews/{task['id']}", headers=await hub.login(reviewer)
        )
        if current.json().get("status") not in ("open", "pending", "in_review"):
            return
        response = await hub.decide(task["id"], reviewer)
        assert response.status_code in (200, 201), response.text


async def check_reprint_flow(hub: HubClient) -> None:
    admin = await hub.login("admin")
    rule = {
        "source_site": "province",
        "scope": "children",
        "target_columns": ["notices"],
        "mode": "automatic",
        "deadline_hours": 12,
    }
    created = await hub.http.post("/api/v1/reprint-rules", json=rule, headers=admin)
    assert created.status_code == 201, created.text

    original = (await hub.submit(notice(901)))["id"]
    await hub.approve_all_stages(original)

    async def linked() -> dict[str, Any] | None:  # the reprint is in the library
        found = await obligation(hub, "city")
        return found if found and found["reprint_id"] else None

    requested = await wait_for(linked, within=60)
    assert requested["original_id"] == original and requested["deadline_hours"] == 12
    assert await obligation(hub, "county") is None  # a grandchild: not a child
    reprint_id = requested["reprint_id"]
    reprint = await hub.content(reprint_id)
    assert reprint["site"] == "city" and reprint["is_reprint"] is True
    assert reprint["relations"]["reprint_of"] == original
    assert reprint["sources"][0]["name"] == "四川省人民政府"

    await review_through(hub, reprint_id)

    async def live() -> dict[str, Any] | None:
        found = await obligation(hub, "city")
        return found if found and found["state"] == "live" else None

    await wait_for(live, within=60)
    report = await hub.http.get("/api/v1/reprints/report?site=province", headers=admin)
    [row] = report.json()["rows"]
    assert row["site"] == "city" and row["done_in_time"] == 1 and row["due"] == 1

    retracted = await hub.http.post(
        f"/api/v1/contents/{original}/retraction",
        json={"reason": "原稿有误"},
        headers=await hub.login("editor"),
    )
    assert retracted.status_code == 202, retracted.text

    async def followed() -> bool:
        found = await obligation(hub, "city")
        return bool(found and found["state"] == "retracted")

    await wait_for(followed, within=60)
    assert (await hub.content(reprint_id))["status"] == "retracted"
    page = await hub.http.get(f"/api/v1/sites/city/items/{reprint_id}")
    assert page.status_code == 410
