"""Driving a running hub through the gateway, as a portal, an editor and reviewers would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from common.testing import free_port, throwaway_database
from kitchen.registry import ALL_PROCESSES
from kitchen.stack import DEFAULT_PORTS, Stack, StackConfig

DEMO_PASSWORD = "e2e-demo-password"
REVIEWERS = ("reviewer1", "reviewer2", "reviewer3")


def notice(n: int, column: str = "notices") -> dict[str, Any]:
    return {
        "title": f"关于开展第{n}批政府网站信息内容建设检查的通知",
        "body_text": f"各市（州）人民政府办公室：\n为做好第{n}批检查工作，现将有关事项通知如下。\n"
        "一、检查范围为全省政府网站和政务新媒体。",
        "kind": "notice",
        "site": "province",
        "columns": [column],
        "publisher": "省人民政府办公厅",
    }


@asynccontextmanager
async def running_hub(
    directory: Path, database_kind: str, env: dict[str, str] | None = None
) -> AsyncIterator[Stack]:
    """A whole hub on free ports with throwaway databases, stopped (not drained) afterwards;
    `env` adds (or overrides) settings of every process (e.g. a shorter poll)."""
    async with AsyncExitStack() as exits:
        urls = {}
        for process in ALL_PROCESSES:
            urls[process] = await exits.enter_async_context(
                throwaway_database(directory, database_kind)
            )
        ports = {process: free_port() for process in DEFAULT_PORTS}  # sandboxes too
        config = StackConfig(
            var_dir=directory / "var",
            ports=ports,
            broker_port=free_port(),
            database_urls=urls,
            demo=True,
            extra_env={
                "KITCHEN_DEMO_PASSWORD": DEMO_PASSWORD,
                "KITCHEN_PUBLIC_RATE_PER_MINUTE": "100000",
                # the webhook receivers (and any test site) run on this machine
                "KITCHEN_OUTBOUND_ALLOW": "127.0.0.1",
                **(env or {}),
            },
        )
        stack = Stack(config)
        try:
            await asyncio.to_thread(stack.start_all)
            yield stack
        finally:
            for process in list(stack.processes):
                stack.kill(process)
            stack.stop_broker()


class HubClient:
    """Thin helpers over the gateway's public API. It checks what the hub did, so its reads
    ask for answers from no cache (`Cache-Control: no-cache`): a reader without it may be
    answered up to a second or two late (the microcache, the page cache)."""

    def __init__(self, base_url: str, password: str = DEMO_PASSWORD) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=30, headers={"cache-control": "no-cache"}
        )
        self.password = password
        self.tokens: dict[str, dict[str, str]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def login(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = await self.http.post(
                "/api/v1/auth/token", data={"username": user, "password": self.password}
            )
            response.raise_for_status()
            self.tokens[user] = {"authorization": f"Bearer {response.json()['access_token']}"}
        return self.tokens[user]

    async def submit(self, body: dict[str, Any], user: str = "editor") -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/contents", json=body, headers=await self.login(user)
        )
        assert response.status_code == 202, response.text
        return response.json()

    async def task_for(self, content_id: str, user: str, within: float = 30) -> dict[str, Any]:
        """The open review task of an item as `user` sees it (waits for machine checks)."""
        headers = await self.login(user)

        async def open_task() -> dict[str, Any] | None:
            response = await self.http.get(
                "/api/v1/reviews", headers=headers, params={"content_id": content_id}
            )
            response.raise_for_status()
            tasks = [
                t
                for t in response.json()["items"]
                if t["status"] in ("open", "pending", "in_review")
            ]
            return tasks[0] if tasks else None

        return await wait_for(open_task, within)

    async def decide(
        self, task_id: str, user: str, decision: str = "approve", comment: str = "同意"
    ) -> httpx.Response:
        return await self.http.post(
            f"/api/v1/reviews/{task_id}/decisions",
            json={"decision": decision, "comment": comment},
            headers=await self.login(user),
        )

    async def approve_all_stages(self, content_id: str) -> None:
        task = await self.task_for(content_id, REVIEWERS[0])
        for reviewer in REVIEWERS:
            response = await self.decide(task["id"], reviewer)
            assert response.status_code in (200, 201), response.text

    async def content(self, content_id: str, user: str = "editor") -> dict[str, Any]:
        response = await self.http.get(
            f"/api/v1/contents/{content_id}", headers=await self.login(user)
        )
        response.raise_for_status()
        return response.json()

    async def column_items(self, site: str, column: str) -> list[dict[str, Any]]:
        """Every published item of a column, following cursors."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            response = await self.http.get(
                f"/api/v1/sites/{site}/columns/{column}/items", params=params
            )
            response.raise_for_status()
            page = response.json()
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items


async def wait_for(
    probe: Callable[[], Awaitable[Any]], within: float = 30, every: float = 0.1
) -> Any:
    """Poll `probe` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within}s")
        await asyncio.sleep(every)


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    yield lambda: time.perf_counter() - started
