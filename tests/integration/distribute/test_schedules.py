"""定时发布 and embargo in distribution: an approved, scheduled version waits (`scheduled`: no
page, no delivery, no `content.published`) and goes out at its moment on every target, once —
across two replicas looking at the same second and across a restart; a moved or cancelled
schedule is followed, a stale one is not; an expired item is not published."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager

from common.events import ContentScheduleChanged
from common.jobs import run_once
from services.distribute.app import create_app
from services.distribute.models import Release
from services.distribute.publishing import start_due
from tests.integration.distribute.conftest import (
    Distribute,
    FakeIngest,
    approved,
    ingested,
    make_settings,
)


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def release_state(distribute: Distribute, content_id: str) -> str:
    async with distribute.app.state.db.sessions() as session:
        release = await session.get(Release, (content_id, 1))
        assert release is not None
        return release.state


async def listed(distribute: Distribute, column: str = "notices") -> list[str]:
    page = await distribute.client.get(f"/api/v1/sites/province/columns/{column}/items")
    return [i["id"] for i in page.json()["items"]]


async def fire(distribute: Distribute) -> int:
    return await distribute.run(lambda run: start_due(run.session, distribute.deps.fetcher, 50))


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)


async def test_a_scheduled_item_waits_then_goes_out_everywhere_once(
    distribute: Distribute,
) -> None:
    moment = soon(1.0)
    item = ingested("s1", columns=["notices", "policies"], publish_at=moment, schedule_revision=1)
    await distribute.publish(item)
    assert await release_state(distribute, "s1") == "scheduled"
    assert await listed(distribute) == [] and await distribute.outbox("content.published") == []
    assert await distribute.outbox("delivery.updated") == []
    assert await fire(distribute) == 0  # not yet

    await until(moment)
    assert await fire(distribute) == 1
    assert await fire(distribute) == 0
    assert await release_state(distribute, "s1") == "published"
    assert await listed(distribute) == ["s1"] and await listed(distribute, "policies") == ["s1"]
    [published] = await distribute.outbox("content.published")
    assert sorted(published["targets"]) == ["portal:province/notices", "portal:province/policies"]
    assert datetime.fromisoformat(published["published_at"]) >= moment


async def test_two_replicas_at_the_same_second_publish_once(
    distribute: Distribute, database_url: str
) -> None:
    moment = soon(1.0)
    await distribute.publish(ingested("s2", publish_at=moment, schedule_revision=1))
    other = create_app(make_settings(database_url), httpx.MockTransport(FakeIngest()))
    async with LifespanManager(other, startup_timeout=60, shutdown_timeout=60):
        fetcher = other.state.deps.fetcher

        async def replica_pass() -> int:
            return await run_once(other.state.db, lambda run: start_due(run.session, fetcher, 50))

        await until(moment)
        started = await asyncio.gather(fire(distribute), replica_pass(), fire(distribute))
    assert sorted(started) == [0, 0, 1]
    assert len(await distribute.outbox("content.published")) == 1
    updates = await distribute.outbox("delivery.updated")
    assert [(u["target"], u["state"]) for u in updates] == [
        ("portal:province/notices", "delivered")
    ]


async def test_a_schedule_survives_a_restart(distribute: Distribute, database_url: str) -> None:
    moment = soon(1.0)
    await distribute.publish(ingested("s3", publish_at=moment, schedule_revision=1))
    await until(moment)
    # the process that saw the approval is gone; a fresh one finds the release and fires it
    again = create_app(make_settings(database_url), httpx.MockTransport(FakeIngest()))
    async with LifespanManager(again, startup_timeout=60, shutdown_timeout=60):
        fetcher = again.state.deps.fetcher
        assert await run_once(again.state.db, lambda run: start_due(run.session, fetcher, 50)) == 1
    assert await listed(distribute) == ["s3"]


async def test_moved_and_cancelled_schedules_are_followed_stale_ones_are_not(
    distribute: Distribute,
) -> None:
    later = soon(3600)
    item = ingested("s4", embargo_until=later, schedule_revision=1)
    await distribute.publish(item)
    assert await release_state(distribute, "s4") == "scheduled"
    stale = ContentScheduleChanged(content_id="s4", revision=1, changed_by="editor")
    await distribute.handle(stale)  # same revision as held: changes nothing
    assert await fire(distribute) == 0
    cancelled = ContentScheduleChanged(content_id="s4", revision=2, changed_by="editor")
    await distribute.handle(cancelled)
    late = ContentScheduleChanged(content_id="s4", revision=1, publish_at=later, changed_by="x")
    await distribute.handle(late)  # arrives after revision 2: ignored
    assert await fire(distribute) == 1
    assert await listed(distribute) == ["s4"]


async def test_an_embargo_holds_an_approval_that_overtook_its_text(
    distribute: Distribute,
) -> None:
    moment = soon(3600)
    item = ingested("s5")
    fetched = item.model_dump(mode="json")
    fetched["schedule"] = {"embargo_until": moment.isoformat(), "revision": 1}
    distribute.ingest.versions[("s5", 1)] = fetched
    await distribute.handle(approved(item))  # content.ingested has not arrived
    assert await release_state(distribute, "s5") == "scheduled"
    await distribute.handle(item)  # the late event, same revision as the fetched schedule
    assert await release_state(distribute, "s5") == "scheduled"
    assert await listed(distribute) == []


async def test_an_expired_item_is_not_published(distribute: Distribute) -> None:
    moment = soon(1.0)
    item = ingested("s6", publish_at=moment, expire_at=moment + timedelta(seconds=0.5),
                    schedule_revision=1)  # fmt: skip
    await distribute.publish(item)
    await until(moment + timedelta(seconds=0.5))  # the workers were down past both moments
    assert await fire(distribute) == 1
    assert await release_state(distribute, "s6") == "failed"
    assert await listed(distribute) == [] and await distribute.outbox("content.published") == []
    [update] = await distribute.outbox("delivery.updated")
    assert update["state"] == "failed" and "expired" in update["detail"]
