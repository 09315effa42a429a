"""Helpers of the new-media end-to-end tests and bench: the sandboxes as the platforms see them.

Counting is done on the sandboxes' side (`GET /_sandbox/state`): a WeChat article is one of an
item's when its `content_source_url` (the portal page) names the item's id; a Weibo status when
its text (which ends with the marked portal link) does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from kitchen.sandboxes.demo import DEMO_ACCOUNTS
from kitchen.stack import Stack
from tests.e2e.hub import HubClient

WECHAT, WEIBO = "wechat-sandbox", "weibo-sandbox"
DEMO_IDS = {a["platform_account_id"]: a for a in DEMO_ACCOUNTS}
# distribute polls its jobs every 0.2 s already; a WeChat job is read back sooner than 5 s
FAST_CHANNELS = {"KITCHEN_WECHAT_CONFIRM_SECONDS": "0.5"}
# The hub's posting limits lifted (with `Sandboxes.lift_limits`, the Weibo sandbox's): at the real
# ones a run of a few hundred items would wait for tomorrow's WeChat quota before every post is out.
UNLIMITED_CHANNELS = {
    "KITCHEN_WEIBO_POSTS_PER_HOUR": "100000",
    "KITCHEN_WEIBO_APP_POSTS_PER_DAY": "100000",
    "KITCHEN_WECHAT_POSTS_PER_MINUTE": "100000",
    "KITCHEN_WECHAT_POSTS_PER_DAY": "100000",
}


class Sandboxes:
    """The two platform sandboxes of a running stack, read and armed over HTTP."""

    def __init__(self, stack: Stack) -> None:
        self.urls = {name: stack.config.url(name) for name in (WECHAT, WEIBO)}
        self.http = httpx.AsyncClient(timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def state(self, sandbox: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.urls[sandbox]}/_sandbox/state")
        response.raise_for_status()
        return dict(response.json())

    async def arm(
        self, sandbox: str, endpoint: str, fault: str, times: int = 1, **params: Any
    ) -> None:
        body = {"endpoint": endpoint, "fault": fault, "times": times, **params}
        response = await self.http.post(f"{self.urls[sandbox]}/_sandbox/faults", json=body)
        assert response.status_code == 200, response.text

    async def disarm(self, sandbox: str) -> None:
        """Drop the faults a sandbox still holds armed (a run may end before needing them)."""
        response = await self.http.delete(f"{self.urls[sandbox]}/_sandbox/faults")
        assert response.status_code == 200, response.text

    async def configure(self, sandbox: str, **values: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.urls[sandbox]}/_sandbox/config", json=values)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def lift_limits(self) -> None:
        """The Weibo sandbox's posting limits lifted, as `UNLIMITED_CHANNELS` lifts the hub's."""
        await self.configure(WEIBO, posts_per_hour=100000, app_posts_per_day=100000)

    async def live_posts(self) -> dict[str, list[dict[str, Any]]]:
        """Every live post per demo account id (WeChat appid / Weibo uid), oldest first."""
        wechat, weibo = await self.state(WECHAT), await self.state(WEIBO)
        posts: dict[str, list[dict[str, Any]]] = {}
        for appid, account in wechat["accounts"].items():
            live = [a for a in account["articles"] if a["status"] == 0]
            posts[appid] = [
                {"id": a["article_id"], "link": a["content_source_url"], **a} for a in live
            ]
        for uid, account in weibo["accounts"].items():
            posts[uid] = [
                {"id": p["idstr"], "link": p["text"], **p}
                for p in account["posts"]
                if not p["deleted"]
            ]
        return posts

    async def all_posts(self) -> dict[str, list[dict[str, Any]]]:
        """Every post ever made per account (deleted ones too)."""
        wechat, weibo = await self.state(WECHAT), await self.state(WEIBO)
        posts: dict[str, list[dict[str, Any]]] = {}
        for appid, account in wechat["accounts"].items():
            posts[appid] = [
                {"id": a["article_id"], "link": a["content_source_url"], "live": a["status"] == 0}
                for a in account["articles"]
            ]
        for uid, account in weibo["accounts"].items():
            posts[uid] = [
                {"id": p["idstr"], "link": p["text"], "live": not p["deleted"]}
                for p in account["posts"]
            ]
        return posts


def posts_of(posts: dict[str, list[dict[str, Any]]], content_id: str) -> dict[str, int]:
    """How many posts of the item each account has."""
    return {
        account: sum(content_id in p["link"] for p in found) for account, found in posts.items()
    }


def doubled(
    posts: dict[str, list[dict[str, Any]]], content_ids: set[str]
) -> dict[str, dict[str, int]]:
    """Per account, the items it has more than one live post of."""
    found: dict[str, dict[str, int]] = {}
    for account, listed in posts.items():
        counts = Counter(c for p in listed for c in content_ids if c in p["link"])
        twice = {c: n for c, n in counts.items() if n > 1}
        if twice:
            found[account] = twice
    return found


async def deliveries_of(hub: HubClient, content_id: str) -> list[dict[str, Any]]:
    """Every delivery row of an item (publish and retract), following cursors."""
    headers = await hub.login("admin")
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"content_id": content_id, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = await hub.http.get("/api/v1/deliveries", headers=headers, params=params)
        response.raise_for_status()
        page = response.json()
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows


async def demo_accounts(hub: HubClient) -> dict[str, dict[str, Any]]:
    """The registered demo accounts by their platform id (appid / uid)."""
    response = await hub.http.get(
        "/api/v1/channels/accounts", headers=await hub.login("admin"), params={"limit": 100}
    )
    response.raise_for_status()
    return {a["platform_account_id"]: a for a in response.json()["items"]}
