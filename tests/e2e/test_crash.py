"""The whole local stack dies at random moments under load, and nothing is lost or doubled.

Broker, four services and gateway are SIGKILLed together three times while submissions and
sign-offs flow; the memory broker comes back empty each time. Afterwards every submission that
was answered 202 is in its right state: in review with one task and the library knowing it, or —
once all its stages are signed — published on every target exactly once.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from common.testing import database_kind_under_test
from kitchen.stack import Stack
from tests.e2e.hub import REVIEWERS, HubClient, notice, running_hub, wait_for
from tests.e2e.receiver import webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"crash-test-webhook-secret-0123").decode()
ROUNDS = 3
PER_ROUND = 60
IN_FLIGHT = 16
OPEN_STATES = ("open", "pending", "in_review")


def crash(stack: Stack) -> None:
    """SIGKILL every process at once, as a power cut would; nothing gets to clean up."""
    children = [*stack.processes.values(), *([stack.broker] if stack.broker else [])]
    for child in children:
        os.killpg(child.pid, signal.SIGKILL)
    for child in children:
        child.wait()
    stack.processes.clear()
    stack.broker = None


async def tasks_of(hub: HubClient, content_id: str) -> list[dict[str, Any]]:
    response = await hub.http.get(
        "/api/v1/reviews",
        headers=await hub.login(REVIEWERS[0]),
        params={"content_id": content_id},
    )
    response.raise_for_status()
    return list(response.json()["items"])


async def sign_remaining_stages(hub: HubClient, content_id: str) -> None:
    """Sign whatever stages are still open, each by its own reviewer, until none is left."""
    while True:
        tasks = await wait_for(lambda: tasks_of(hub, content_id), within=120, every=0.3)
        current = [t for t in tasks if t["status"] in OPEN_STATES]
        if not current:
            return
        task = current[0]
        response = await hub.decide(task["id"], REVIEWERS[task["stage_index"]])
        assert response.status_code in (200, 201, 409), response.text  # 409: signed meanwhile


async def log_everyone_in(hub: HubClient) -> None:
    for user in ("editor", *REVIEWERS):
        await hub.login(user)


def answered(accepted: dict[str, str], count: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return len(accepted) >= count

    return probe


async def _repr(value: Awaitable[Any]) -> str:
    return repr(await value)


async def settle(
    probe: Callable[[], Awaitable[Any]], within: float, what: Callable[[], Awaitable[str]]
) -> Any:
    """`wait_for`, but a timeout says what was still missing."""
    try:
        return await wait_for(probe, within=within, every=0.5)
    except TimeoutError:
        raise AssertionError(f"not converged after {within}s: {await what()}") from None


@asynccontextmanager
async def cut_off_by(crashed: asyncio.Event) -> AsyncIterator[None]:
    try:
        yield
    except (httpx.HTTPError, AssertionError, TimeoutError):
        if not crashed.is_set():
            raise


async def burst(
    hub: HubClient,
    round_no: int,
    accepted: dict[str, str],
    to_sign: list[str],
    rng: random.Random,
    crashed: asyncio.Event,
) -> None:
    """Submissions and sign-offs at once, `IN_FLIGHT` at once, until the crash cuts them off.

    A request the crash interrupts fails; one that fails before the crash fails the test.
    """
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def submit(n: int) -> None:
        async with semaphore, cut_off_by(crashed):
            body = notice(round_no * 1000 + n, "notices")
            item = await hub.submit(body)
            accepted[item["id"]] = body["title"]  # answered 202: must not be lost

    async def sign(content_id: str) -> None:
        async with semaphore, cut_off_by(crashed):
            await sign_remaining_stages(hub, content_id)

    jobs = [submit(n) for n in range(PER_ROUND)] + [sign(i) for i in to_sign]
    rng.shuffle(jobs)
    await asyncio.gather(*jobs)


async def test_whole_stack_killed_three_times_under_load(tmp_path: Path) -> None:
    seed = int(os.environ.get("KITCHEN_CRASH_SEED", time.time()))
    rng = random.Random(seed)
    print(f"crash moments from seed {seed} (KITCHEN_CRASH_SEED)")
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            async with webhook_receiver(WEBHOOK_SECRET) as (hook_url, received):
                endpoint = await hub.http.post(
                    "/api/v1/webhook-endpoints",
                    headers=await hub.login("admin"),
                    json={"url": hook_url, "secret": WEBHOOK_SECRET},
                )
                assert endpoint.status_code == 201, endpoint.text
                await log_everyone_in(hub)
                accepted: dict[str, str] = {}
                for round_no in range(ROUNDS):
                    earlier = list(accepted)
                    to_sign = rng.sample(earlier, k=len(earlier) * 2 // 3)
                    crashed = asyncio.Event()
                    load = asyncio.create_task(
                        burst(hub, round_no, accepted, to_sign, rng, crashed)
                    )
                    started = time.monotonic()
                    # the moment: some random time after this round's first answers
                    await wait_for(answered(accepted, len(accepted) + 10), within=60)
                    await asyncio.sleep(rng.uniform(0.0, 2.0))
                    moment = time.monotonic() - started
                    crashed.set()
                    await asyncio.to_thread(crash, stack)
                    load.cancel()
                    [outcome] = await asyncio.gather(load, return_exceptions=True)
                    assert isinstance(outcome, asyncio.CancelledError | None), repr(outcome)
                    print(f"round {round_no}: killed at {moment:.2f}s, {len(accepted)} accepted")
                    await hub.close()
                    hub = HubClient(stack.config.url("gateway"))
                    await asyncio.to_thread(stack.start_all)
                    await log_everyone_in(hub)
                restarted = time.monotonic()
                await check_converged(hub, accepted, received, restarted)
        finally:
            await hub.close()


async def check_converged(
    hub: HubClient, accepted: dict[str, str], received: Any, restarted: float
) -> None:
    ids = sorted(accepted)
    to_publish = set(ids[: len(ids) * 2 // 3])  # the rest stays in review
    assert len(to_publish) > 10, "the bursts accepted too little to prove anything"
    await settle_in_review(hub, ids)
    in_review_after = time.monotonic() - restarted
    await asyncio.gather(*(sign_remaining_stages(hub, c) for c in sorted(to_publish)))
    published = await settle_published(hub, ids, to_publish)
    await settle_hooked(received, published)
    await settle_library(hub, ids, published)
    print(
        f"{len(ids)} accepted, {len(published)} published once each, "
        f"{len(ids) - len(published)} in review; in review everywhere "
        f"{in_review_after:.1f}s after the last restart, "
        f"all converged after {time.monotonic() - restarted:.1f}s"
    )


async def review_states(
    hub: HubClient, ids: list[str]
) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    found = {}
    for content_id in ids:
        tasks = [(t["status"], t["stage_index"]) for t in await tasks_of(hub, content_id)]
        found[content_id] = ((await hub.content(content_id))["status"], tasks)
    return found


async def settle_in_review(hub: HubClient, ids: list[str]) -> None:
    """Every accepted item reaches review once (one task each), and the library knows it."""

    async def stuck() -> str:
        found = await review_states(hub, ids)
        return repr({c: state for c, state in found.items() if state[0] == "ingested"})

    async def everything_in_review() -> bool:
        found = await review_states(hub, ids)
        assert all(len(tasks) <= 1 for _, tasks in found.values()), found
        return all(status != "ingested" and tasks for status, tasks in found.values())

    await settle(everything_in_review, 120, stuck)


async def settle_published(hub: HubClient, ids: list[str], to_publish: set[str]) -> set[str]:
    """Every signed-off item is listed in its column exactly once, and nothing else is."""

    async def all_published() -> bool:
        listed = [item["id"] for item in await hub.column_items("province", "notices")]
        return set(listed) >= to_publish

    await wait_for(all_published, within=180, every=0.5)
    listed = Counter(item["id"] for item in await hub.column_items("province", "notices"))
    published = {c for c in ids if c in listed}
    assert published >= to_publish
    assert set(listed.values()) == {1}, "an item is listed twice"
    assert set(listed) <= set(ids), "an item nobody was told about was published"
    return published


async def settle_hooked(received: Any, published: set[str]) -> None:
    """The webhook receiver got each published item exactly once."""

    async def all_hooked() -> bool:
        return {p.get("data", p)["content_id"] for p in received.by_id.values()} >= published

    await wait_for(all_hooked, within=180, every=0.5)
    hooked = Counter(p.get("data", p)["content_id"] for p in received.by_id.values())
    assert set(hooked) == published and set(hooked.values()) == {1}, hooked


async def settle_library(hub: HubClient, ids: list[str], published: set[str]) -> None:
    """The library shows each item's final state (it hears of publication one hop later)."""

    async def unsettled() -> dict[str, str]:
        wrong = {}
        for content_id in ids:
            item = await hub.content(content_id)
            if item["status"] != ("published" if content_id in published else "in_review"):
                wrong[content_id] = item["status"]
            targets = Counter(d["target"] for d in item["deliveries"])
            assert set(targets.values()) <= {1}, item["deliveries"]
        return wrong

    async def library_settled() -> bool:
        return not await unsettled()

    await settle(library_settled, 120, lambda: _repr(unsettled()))
