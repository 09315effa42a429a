"""Waiting until a hub under test has converged: every accepted item in review once, or published
exactly once on its column, its webhook and in the library. Shared by the tests that break the
hub on purpose (crashes, rolling restarts)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tests.e2e.hub import REVIEWERS, HubClient, wait_for

OPEN_STATES = ("open", "pending", "in_review")


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
