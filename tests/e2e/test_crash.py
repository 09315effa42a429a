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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from common.testing import database_kind_under_test
from kitchen.stack import Stack
from tests.e2e.convergence import check_converged, sign_remaining_stages
from tests.e2e.hub import REVIEWERS, HubClient, notice, running_hub, wait_for
from tests.e2e.receiver import webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"crash-test-webhook-secret-0123").decode()
ROUNDS = 3
PER_ROUND = 60
IN_FLIGHT = 16


def crash(stack: Stack) -> None:
    """SIGKILL every process at once, as a power cut would; nothing gets to clean up."""
    children = [*stack.processes.values(), *([stack.broker] if stack.broker else [])]
    for child in children:
        os.killpg(child.pid, signal.SIGKILL)
    for child in children:
        child.wait()
    stack.processes.clear()
    stack.broker = None


async def log_everyone_in(hub: HubClient) -> None:
    for user in ("editor", *REVIEWERS):
        await hub.login(user)


def answered(accepted: dict[str, str], count: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return len(accepted) >= count

    return probe


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
