"""Nothing lost, nothing doubled: a distribute crash mid-burst, and a broker outage."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from pathlib import Path

from common.testing import database_kind_under_test
from tests.e2e.hub import HubClient, notice, running_hub, wait_for
from tests.e2e.receiver import webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"resilience-webhook-secret-xyz").decode()
BURST = 200


async def gather_limited(limit: int, coroutines: list) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def run(coroutine):  # type: ignore[no-untyped-def]
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(run(c) for c in coroutines))


async def published_ids(hub: HubClient) -> list[str]:
    return [item["id"] for item in await hub.column_items("province", "notices")]


async def test_distribute_killed_mid_burst(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            async with webhook_receiver(WEBHOOK_SECRET) as (hook_url, received):
                admin = await hub.login("admin")
                response = await hub.http.post(
                    "/api/v1/webhook-endpoints",
                    headers=admin,
                    json={"url": hook_url, "secret": WEBHOOK_SECRET},
                )
                assert response.status_code == 201, response.text

                accepted = await gather_limited(
                    16, [hub.submit(notice(n, "notices")) for n in range(BURST)]
                )
                ids = {a["id"] for a in accepted}
                approvals = asyncio.create_task(
                    gather_limited(16, [hub.approve_all_stages(i) for i in ids])
                )

                async def some_published() -> bool:
                    return len(await published_ids(hub)) >= 20

                await wait_for(some_published, within=120)
                await asyncio.to_thread(stack.kill, "distribute")
                stack.start("distribute")
                await asyncio.to_thread(stack.wait_ready, "distribute")
                await approvals

                async def all_published() -> bool:
                    return len(set(await published_ids(hub))) == BURST

                await wait_for(all_published, within=180, every=0.5)
                listed = await published_ids(hub)
                assert len(listed) == BURST and set(listed) == ids  # once each, none extra

                async def all_hooked() -> bool:
                    return len(received.by_id) >= BURST

                await wait_for(all_hooked, within=120, every=0.5)
                hooked = Counter(p.get("data", p)["content_id"] for p in received.by_id.values())
                assert set(hooked) == ids and set(hooked.values()) == {1}

                sample = list(ids)[:40]

                async def sample_delivered() -> bool:  # the state lands just after the send
                    for content_id in sample:
                        deliveries = (await hub.content(content_id))["deliveries"]
                        targets = Counter(d["target"] for d in deliveries)
                        assert set(targets.values()) == {1}, deliveries
                        if any(d["state"] != "delivered" for d in deliveries):
                            return False
                    return True

                await wait_for(sample_delivered, within=60, every=0.5)
        finally:
            await hub.close()


async def test_submissions_accepted_while_broker_is_down(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            await asyncio.to_thread(stack.stop_broker)
            accepted = [await hub.submit(notice(n, "notices")) for n in range(3)]
            assert all(a["status"] == "ingested" for a in accepted)
            await asyncio.to_thread(stack.restart_broker)
            for item in accepted:
                await hub.approve_all_stages(item["id"])

            async def all_published() -> bool:
                return len(await published_ids(hub)) == 3

            await wait_for(all_published, within=120, every=0.5)
        finally:
            await hub.close()
