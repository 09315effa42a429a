"""Chaos on the way to the platforms: a burst of approvals while both sandboxes fail in every way
they can and distribute is SIGKILLed at random moments. Counted on the sandboxes' side: no
account has two live posts of one item, every (item, account) is posted once or has a final,
explained state, nothing is left unknown; then posts parked by a quota error go out after the
reset, in the order the plan showed.

`KITCHEN_CHAOS_ITEMS` (default 30) sets the burst: the issue's 200 is
`KITCHEN_CHAOS_ITEMS=200 pytest tests/e2e/test_channels_chaos.py` (minutes, not seconds: each
account posts one at a time). `KITCHEN_CHAOS_SEED` replays the kill moments. The run takes
≈ 2.5 minutes on 2 cores at any size up to 30: most of it is distribute starting again three
times and the jittered backoff (2 s, doubling) of the posts that met several faults in a row.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from common.testing import database_kind_under_test
from kitchen.stack import Stack
from tests.e2e.channels import (
    FAST_CHANNELS,
    UNLIMITED_CHANNELS,
    WECHAT,
    WEIBO,
    Sandboxes,
    deliveries_of,
    demo_accounts,
    doubled,
    posts_of,
)
from tests.e2e.hub import HubClient, notice, running_hub, wait_for

# Two and a half minutes of kills and faults: once per `make test`, in the SQLite pass (it also
# passes on PostgreSQL: KITCHEN_TEST_DB=postgres); the channel job's PostgreSQL paths (SKIP
# LOCKED, account locks) are covered by the integration tests in both passes.
pytestmark = pytest.mark.any_database

ITEMS = int(os.environ.get("KITCHEN_CHAOS_ITEMS", "30"))
KILLS = 3
IN_FLIGHT = 8
CHANNELS = ("wechat", "weibo")
OPEN = ("pending", "sending", "confirming", "unknown", "parked", "retrying")
# The platforms' real limits would spread 200 posts over days; the test is about failures, so
# the hub's limits and the Weibo sandbox's are lifted, and calls time out sooner.
CHAOS_ENV = {
    **FAST_CHANNELS,
    "KITCHEN_CHANNEL_TIMEOUT_SECONDS": "2",
    "KITCHEN_CHANNEL_LEASE_SECONDS": "8",
    **UNLIMITED_CHANNELS,
}
LATE = 3  # seconds a held-back answer waits: past the 2 s timeout
# (sandbox, endpoint, fault, times, params): every failure the issue names, except quota
# exhaustion, which is its own phase (a parked post waits for its reset), and a Weibo token
# expiry, which on Weibo needs the account authorised again (a configuration error: the
# delivery fails and the account says why — the adapter tests cover it).
FAULTS: list[tuple[str, str, str, int, dict[str, Any]]] = [
    (WECHAT, "*", "token_expired", 2, {}),
    (WECHAT, "draft/add", "busy", 2, {}),
    (WECHAT, "draft/add", "http_500", 1, {}),
    (WECHAT, "material/add_material", "timeout_after", 1, {"delay": LATE}),
    (WECHAT, "freepublish/submit", "busy", 2, {}),
    (WECHAT, "freepublish/submit", "http_500", 2, {}),
    (WECHAT, "freepublish/submit", "timeout_after", 3, {"delay": LATE}),
    (WECHAT, "freepublish/submit", "drop_after", 2, {}),
    (WECHAT, "freepublish/submit", "duplicate", 1, {}),
    (WECHAT, "freepublish/submit", "rate_limit", 1, {}),
    (WECHAT, "freepublish/submit", "slow_publish", 2, {"seconds": 4}),
    (WECHAT, "freepublish/submit", "publish_end", 1, {"status": 3}),
    (WECHAT, "freepublish/get", "busy", 2, {}),
    (WECHAT, "freepublish/get", "timeout_after", 1, {"delay": LATE}),
    (WEIBO, "statuses/share", "system_error", 2, {}),
    (WEIBO, "statuses/share", "busy", 2, {}),
    (WEIBO, "statuses/share", "http_500", 1, {}),
    (WEIBO, "statuses/share", "http_503", 1, {}),
    (WEIBO, "statuses/share", "timeout_after", 3, {"delay": LATE}),
    (WEIBO, "statuses/share", "drop_after", 2, {}),
    (WEIBO, "statuses/share", "http_500_after", 2, {}),
    (WEIBO, "statuses/share", "duplicate", 1, {}),
    (WEIBO, "statuses/share", "rate_limit", 1, {"retry_after": 2}),
    (WEIBO, "statuses/user_timeline", "http_500", 1, {}),
    (WEIBO, "statuses/user_timeline", "timeout_after", 1, {"delay": LATE}),
]

LOST_ANSWERS = [f for f in FAULTS if f[2] in ("timeout_after", "drop_after", "http_500_after")]
SPREAD = [f for f in FAULTS if f not in LOST_ANSWERS]


async def test_burst_with_failing_platforms_and_killed_distribute(tmp_path: Path) -> None:
    seed = int(os.environ.get("KITCHEN_CHAOS_SEED", time.time()))
    rng = random.Random(seed)
    print(f"chaos from seed {seed} (KITCHEN_CHAOS_SEED), {ITEMS} items")
    async with running_hub(tmp_path, database_kind_under_test(), CHAOS_ENV) as stack:
        hub = HubClient(stack.config.url("gateway"))
        boxes = Sandboxes(stack)
        try:
            await boxes.lift_limits()
            await boxes.configure(WECHAT, publish_seconds=0.3)
            accounts = await demo_accounts(hub)
            started = time.monotonic()
            ids = await chaos_burst(hub, boxes, stack, rng)
            print(f"burst signed off and kills done after {time.monotonic() - started:.1f}s")
            await check_converged(hub, boxes, ids, accounts)
            print(f"{len(ids)} items x {len(accounts)} accounts settled in "
                  f"{time.monotonic() - started:.1f}s")  # fmt: skip
            await check_parked_go_in_plan_order(hub, boxes, accounts)
            print(f"quota phase done after {time.monotonic() - started:.1f}s")
        finally:
            await boxes.close()
            await hub.close()


async def chaos_burst(
    hub: HubClient, boxes: Sandboxes, stack: Stack, rng: random.Random
) -> list[str]:
    """Submit the burst, arm every fault, then approve everything while distribute dies."""
    for user in ("editor", "admin", "reviewer1", "reviewer2", "reviewer3"):
        await hub.login(user)
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def submit(n: int) -> str:
        async with semaphore:
            return str((await hub.submit(notice(n, "news")))["id"])

    ids = list(await asyncio.gather(*(submit(n) for n in range(1, ITEMS + 1))))
    # the answers lost after the platform kept the post go first, so they fire however fast
    # the run is (the test asserts they did); the rest after each restart (kill_distribute)
    await arm(boxes, LOST_ANSWERS + SPREAD[0 :: KILLS + 1])

    async def approve(content_id: str) -> None:
        async with semaphore:
            await hub.approve_all_stages(content_id)

    async def approve_all() -> None:
        await asyncio.gather(*(approve(c) for c in ids))

    approvals = asyncio.create_task(approve_all())
    killer = asyncio.create_task(kill_distribute(stack, boxes, rng))
    await approvals  # the gateway and review stay up: sign-offs never fail
    await killer
    return ids


async def kill_distribute(stack: Stack, boxes: Sandboxes, rng: random.Random) -> None:
    """SIGKILL distribute `KILLS` times at random moments while posts are on their way: each
    time once its job has been calling the platforms again (it posts before its consumers have
    rejoined the broker's group, which takes longer), then start it again at once and arm the
    next share of the faults (so they hit the run throughout, not only its start)."""

    async def calls() -> int:
        wechat, weibo = await boxes.state(WECHAT), await boxes.state(WEIBO)
        made = sum(sum(a["counts"].values()) for a in wechat["accounts"].values())
        return int(made + sum(weibo["counts"]["calls"].values()))

    # the moments, as counts of platform calls: spread over the first part of the run
    moments = sorted(rng.sample(range(8, max(40, ITEMS * 6)), KILLS))
    for round_no, moment in enumerate(moments):
        floor = max(moment, await calls() + 3)

        async def calling(floor: int = floor) -> bool:
            return await calls() >= floor

        await wait_for(calling, within=120, every=0.1)
        await asyncio.sleep(rng.uniform(0.0, 1.5))
        made = await calls()
        await asyncio.to_thread(stack.kill, "distribute")
        print(f"kill {round_no}: distribute SIGKILLed after {made} platform calls")
        await asyncio.to_thread(stack.start, "distribute")
        await arm(boxes, SPREAD[round_no + 1 :: KILLS + 1])
    await asyncio.to_thread(stack.wait_ready, "distribute")


async def arm(boxes: Sandboxes, faults: list[tuple[str, str, str, int, dict[str, Any]]]) -> None:
    for sandbox, endpoint, fault, times, params in faults:
        await boxes.arm(sandbox, endpoint, fault, times, **params)


async def channel_rows(hub: HubClient, content_id: str) -> list[dict[str, Any]]:
    return [
        d
        for d in await deliveries_of(hub, content_id)
        if d["action"] == "publish" and d["channel"] in CHANNELS
    ]


async def check_converged(
    hub: HubClient, boxes: Sandboxes, ids: list[str], accounts: dict[str, dict[str, Any]]
) -> None:
    """Zero doubled, zero lost, nothing left in doubt — on the sandboxes and in the rows."""
    rows: dict[str, list[dict[str, Any]]] = {}

    async def settled() -> bool:
        for content_id in ids:
            found = await channel_rows(hub, content_id)
            rows[content_id] = found
            if len(found) < len(accounts) or any(d["state"] in OPEN for d in found):
                return False
        return True

    try:
        await wait_for(settled, within=max(300, ITEMS * 4), every=1.0)
    except TimeoutError:
        open_rows = [d for found in rows.values() for d in found if d["state"] in OPEN]
        raise AssertionError(f"not settled: {open_rows[:10]}") from None

    live = await boxes.live_posts()
    assert doubled(live, set(ids)) == {}, "an account has two live posts of one item"
    everything = await boxes.all_posts()
    assert doubled(everything, set(ids)) == {}, "an item was posted twice (one since deleted)"
    by_target = {f"{a['platform']}:{a['id']}": pid for pid, a in accounts.items()}
    failed: list[dict[str, Any]] = []
    for content_id in ids:
        posted = posts_of(live, content_id)
        assert len(rows[content_id]) == len(accounts), rows[content_id]  # one per account
        for delivery in rows[content_id]:
            on_box = posted[by_target[delivery["target"]]]
            if delivery["state"] == "delivered":
                assert on_box == 1, (delivery, on_box)
            else:
                assert on_box == 0, (delivery, on_box)
                failed.append(delivery)
    # The final states the armed faults justify, each visible to the editor with why: a WeChat
    # job the platform ended in status 3 (`failed`), and a "repeat content" answer while the
    # account has no post of the item (`needs_edit`: the text collides with another post).
    fired = Counter(f["fault"] for f in (await boxes.state(WECHAT))["faults_fired"])
    fired.update(f["fault"] for f in (await boxes.state(WEIBO))["faults"]["fired"])
    publish_failed = [d for d in failed if d["state"] == "failed"]
    assert all(d["channel"] == "wechat" for d in publish_failed), publish_failed
    assert len(publish_failed) == fired["publish_end"], (publish_failed, fired)
    repeated = [d for d in failed if d["state"] == "needs_edit"]
    assert all("重复" in d["last_error"] for d in repeated), repeated
    assert len(repeated) <= fired["duplicate"], (repeated, fired)
    assert len(failed) == len(publish_failed) + len(repeated), failed
    # the chaos did happen: answers lost after the platform kept the post, on both platforms
    assert fired["timeout_after"] and fired["drop_after"] and fired["http_500_after"], fired
    print(f"faults fired: {dict(fired)}")
    states = Counter(d["state"] for found in rows.values() for d in found)
    print(f"deliveries: {dict(states)}; failed ones: {[d['last_error'] for d in failed]}")


async def check_parked_go_in_plan_order(
    hub: HubClient, boxes: Sandboxes, accounts: dict[str, dict[str, Any]]
) -> None:
    """Weibo's app quota runs out (10022 with a Retry-After): the post is parked, the account's
    next posts wait with it and the plan shows them; after the reset all go, in plan order."""
    pause = 12
    # faults armed late in the burst may outlast the posts that would have met them: only the
    # quota fault may act on what follows
    await boxes.disarm(WEIBO)
    await boxes.arm(WEIBO, "statuses/share", "quota_exhausted", 1, retry_after=pause)
    ids = []
    for n in range(5):
        ids.append(str((await hub.submit(notice(900 + n, "news")))["id"]))
    for content_id in ids:  # one after another: their deliveries are created in this order
        await hub.approve_all_stages(content_id)

    async def parked() -> dict[str, Any] | None:
        for content_id in ids:
            for delivery in await channel_rows(hub, content_id):
                if delivery["state"] == "parked":
                    return delivery
        return None

    first = await wait_for(parked, within=60, every=0.2)
    account_id = first["target"].split(":", 1)[1]

    async def all_released() -> bool:  # every item's posts exist (the release is a hop away)
        found = [d for c in ids for d in await channel_rows(hub, c)]
        return len(found) == len(ids) * len(accounts)

    await wait_for(all_released, within=30, every=0.2)
    response = await hub.http.get(
        "/api/v1/channels/plan", headers=await hub.login("admin"), params={"account_id": account_id}
    )
    response.raise_for_status()
    planned = [p for p in response.json()["items"] if p["content_id"] in ids]
    assert planned and planned[0]["delivery_id"] == first["id"], planned
    assert all(p["reason"] for p in planned), planned  # each says what it waits for
    order = [p["content_id"] for p in planned]

    async def all_out() -> bool:
        found = [d for c in ids for d in await channel_rows(hub, c)]
        return len(found) == len(ids) * len(accounts) and all(
            d["state"] == "delivered" for d in found
        )

    await wait_for(all_out, within=90, every=0.5)
    uid = next(pid for pid, a in accounts.items() if a["id"] == account_id)
    timeline = (await boxes.state(WEIBO))["accounts"][uid]["posts"]
    posted = [c for p in timeline for c in ids if c in p["text"]]
    assert len(order) == len(ids) and posted == order, (posted, order)  # in plan order
    reset_at = planned[0]["planned_at"][:19]  # the parked post's: when the quota resets
    went = [p["created_at"][:19] for p in timeline if any(c in p["text"] for c in order)]
    assert all(moment >= reset_at for moment in went), (went, reset_at)  # never before
