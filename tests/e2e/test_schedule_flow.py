"""定时发布 and 到期下线 across processes over Kafka: an approved, scheduled item stays off the
portal until its moment and then appears; a schedule cancelled after approval sends the item out at
once (`content.schedule_changed` reaches distribute); an item past its `expire_at` comes down
from its column through the ordinary retraction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.testing import database_kind_under_test
from tests.e2e.hub import HubClient, notice, running_hub, wait_for


async def test_scheduled_cancelled_and_expiring_items(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            await check_schedules(hub)
        finally:
            await hub.close()


async def listed(hub: HubClient, content_id: str) -> bool:
    return content_id in {i["id"] for i in await hub.column_items("province", "notices")}


async def check_schedules(hub: HubClient) -> None:
    now = datetime.now(UTC)
    moment = (now + timedelta(seconds=25)).replace(microsecond=0)
    timed = await hub.submit({**notice(951), "publish_at": moment.isoformat()})
    held = await hub.submit({**notice(952), "publish_at": (now + timedelta(hours=1)).isoformat()})
    expiring = await hub.submit(
        {**notice(953), "expire_at": (now + timedelta(seconds=30)).isoformat()}
    )
    for item in (timed, held, expiring):
        await hub.approve_all_stages(item["id"])

    async def approved(content_id: str) -> bool:
        return (await hub.content(content_id))["status"] in ("approved", "published")

    await wait_for(lambda: approved(timed["id"]))
    await wait_for(lambda: listed(hub, expiring["id"]))  # unscheduled: out at once
    assert not await listed(hub, timed["id"])  # approved, waiting for its moment

    editor = await hub.login("editor")
    cancelled = await hub.http.put(
        f"/api/v1/contents/{held['id']}/schedule", json={"publish_at": None}, headers=editor
    )
    assert cancelled.status_code == 200, cancelled.text
    await wait_for(lambda: listed(hub, held["id"]))

    await wait_for(lambda: listed(hub, timed["id"]), within=60)
    assert datetime.now(UTC) >= moment
    await wait_for(lambda: _gone(hub, expiring["id"]), within=60)
    assert (await hub.content(expiring["id"]))["status"] == "retracted"


async def _gone(hub: HubClient, content_id: str) -> bool:
    return not await listed(hub, content_id)
