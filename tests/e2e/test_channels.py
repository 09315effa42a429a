"""Issue 12's proof, through the gateway as users work: an item goes to the portal, its feeds,
one app subscriber and the 2 WeChat + 2 Weibo demo accounts — each post exactly once, counted
on the sandboxes — then is retracted everywhere with evidence; bad input is refused or shown
as a finding, and nothing of it reaches a platform."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import feedparser

from common.testing import database_kind_under_test
from tests.e2e.channels import (
    FAST_CHANNELS,
    WEIBO,
    Sandboxes,
    deliveries_of,
    demo_accounts,
    posts_of,
)
from tests.e2e.hub import HubClient, notice, running_hub, wait_for
from tests.e2e.receiver import Received, webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"channels-e2e-webhook-secret-01").decode()
CHANNELS = ("wechat", "weibo")
# a title that fits nowhere next to the portal link within Weibo's 140 characters
LONG_TITLE = "关于" + "进一步加强和规范全省政府网站与政务新媒体信息内容建设管理工作" * 4 + "的通知"


async def test_item_reaches_every_outlet_once_and_is_retracted_everywhere(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, database_kind_under_test(), FAST_CHANNELS) as stack:
        hub = HubClient(stack.config.url("gateway"))
        boxes = Sandboxes(stack)
        try:
            accounts = await demo_accounts(hub)
            assert sorted(accounts) == ["5000000001", "5000000002", "wxdemo0000000001",
                                        "wxdemo0000000002"]  # fmt: skip
            async with webhook_receiver(WEBHOOK_SECRET) as (hook_url, received):
                await subscribe(hub, hook_url)
                content_id = await check_delivered_everywhere(hub, boxes, received, accounts)
                await check_retracted_everywhere(hub, boxes, received, content_id)
            await check_refused_accounts(hub, accounts)
            await check_nothing_sent_for_bad_targets(hub, boxes, accounts)
        finally:
            await boxes.close()
            await hub.close()


async def subscribe(hub: HubClient, hook_url: str) -> None:
    """An app subscriber: signed pushes of province/news only."""
    response = await hub.http.post(
        "/api/v1/webhook-endpoints",
        headers=await hub.login("admin"),
        json={
            "url": hook_url,
            "secret": WEBHOOK_SECRET,
            "site": "province",
            "columns": ["news"],
            "description": "政务 App 订阅：省政府要闻",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["columns"] == ["news"]


async def preview(hub: HubClient, content_id: str, version: int = 1) -> dict[str, Any]:
    response = await hub.http.get(
        f"/api/v1/channels/previews/{content_id}/{version}", headers=await hub.login("reviewer1")
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def published(hub: HubClient, content_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        item = await hub.content(content_id)
        return item if item["status"] == "published" else None

    try:
        return dict(await wait_for(probe, within=60, every=0.3))
    except TimeoutError:
        item = await hub.content(content_id)
        raise AssertionError(
            f"{content_id} is {item['status']}: {item['history']} {item['deliveries']}"
        ) from None


async def settled_deliveries(
    hub: HubClient, content_id: str, but: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The item's publish deliveries (on channels other than `but`) once none is on its way."""
    on_the_way = ("pending", "sending", "confirming", "unknown", "parked", "retrying")

    async def probe() -> list[dict[str, Any]] | None:
        rows = [
            d
            for d in await deliveries_of(hub, content_id)
            if d["action"] == "publish" and d["channel"] not in but
        ]
        return rows if rows and not any(d["state"] in on_the_way for d in rows) else None

    try:
        return list(await wait_for(probe, within=90, every=0.3))
    except TimeoutError:
        rows = await deliveries_of(hub, content_id)
        raise AssertionError(f"deliveries of {content_id} not settled: {rows}") from None


def hooked(received: Received, content_id: str, event: str) -> list[dict[str, Any]]:
    return [
        p
        for p in received.by_id.values()
        if p.get("type") == event and p.get("data", {}).get("content_id") == content_id
    ]


async def check_delivered_everywhere(
    hub: HubClient, boxes: Sandboxes, received: Received, accounts: dict[str, dict[str, Any]]
) -> str:
    """Submit (naming one account that the column would pick anyway) → preview → three
    sign-offs → portal, feed, subscriber and each account once, every delivery confirmed."""
    body = {**notice(1, "news"), "accounts": [accounts["wxdemo0000000001"]["id"]]}
    accepted = await hub.submit(body)
    content_id = accepted["id"]
    shown = await preview(hub, content_id)
    assert sorted(shown["variants"]) == list(CHANNELS) and shown["findings"] == []
    assert {a["id"] for a in shown["accounts"]} == {a["id"] for a in accounts.values()}
    assert all(a["ready"] and not a["findings"] for a in shown["accounts"]), shown["accounts"]
    named = next(a for a in shown["accounts"] if a["id"] == body["accounts"][0])
    assert named["via"] == ["named", "column"]

    await hub.approve_all_stages(content_id)
    rows = await settled_deliveries(hub, content_id)
    assert all(d["state"] == "delivered" for d in rows), rows
    channel_rows = [d for d in rows if d["channel"] in CHANNELS]
    assert sorted(d["target"] for d in channel_rows) == sorted(
        f"{a['platform']}:{a['id']}" for a in accounts.values()
    )
    assert {d["channel"] for d in rows} >= {"portal", "webhook", "wechat", "weibo"}

    item = await published(hub, content_id)  # content.published reached the library
    assert item["status"] == "published"
    assert [i["id"] for i in await hub.column_items("province", "news")] == [content_id]
    feed = feedparser.parse((await hub.http.get("/feeds/province/news.rss")).content)
    assert not feed.bozo and [e.title for e in feed.entries] == [body["title"]]

    await wait_for(lambda: _true(hooked(received, content_id, "content.published")), within=30)
    assert received.rejected == 0 and len(hooked(received, content_id, "content.published")) == 1

    live = posts_of(await boxes.live_posts(), content_id)
    assert live == dict.fromkeys(accounts, 1), live  # each account: exactly one post
    await check_posted_shapes(boxes, content_id, body["title"])
    return str(content_id)


async def _true(value: Any) -> bool:
    return bool(value)


async def check_posted_shapes(boxes: Sandboxes, content_id: str, title: str) -> None:
    """What landed: a WeChat article with the title linking to the portal page; a Weibo status
    with the teaser and the marked link on the safe domain."""
    wechat = await boxes.state("wechat-sandbox")
    for account in wechat["accounts"].values():
        [article] = account["articles"]
        assert article["title"] == title and content_id in article["content_source_url"]
        assert article["url"].startswith("http")
    weibo = await boxes.state(WEIBO)
    for account in weibo["accounts"].values():
        [post] = account["posts"]
        assert f"https://www.sc.gov.cn/news/{content_id}.html?k=" in post["text"]
        assert len(post["text"]) <= 140 and "#" not in post["text"]


async def check_retracted_everywhere(
    hub: HubClient, boxes: Sandboxes, received: Received, content_id: str
) -> None:
    """撤稿: every outlet that got the item shows it removed, with the platform's evidence."""
    response = await hub.http.post(
        f"/api/v1/contents/{content_id}/retraction",
        headers=await hub.login("editor"),
        json={"reason": "信息有误，撤回重发"},
    )
    assert response.status_code == 202, response.text

    async def all_removed() -> dict[str, Any] | None:
        reply = await hub.http.get(
            f"/api/v1/deliveries/outlets/{content_id}", headers=await hub.login("admin")
        )
        reply.raise_for_status()
        outlets = reply.json()
        states = {o["state"] for o in outlets["outlets"]}
        return outlets if outlets["outlets"] and states == {"removed"} else None

    outlets = await wait_for(all_removed, within=90, every=0.5)
    assert outlets["retraction"]["reason"] == "信息有误，撤回重发"
    channels = {o["channel"] for o in outlets["outlets"]}
    assert channels >= {"portal", "webhook", "wechat", "weibo"}, channels
    for outlet in outlets["outlets"]:
        takedown = outlet["takedown"]
        assert takedown is not None and takedown["state"] == "delivered", outlet
        assert takedown["at"], outlet
        if outlet["channel"] in CHANNELS:  # the platform's own answer is the evidence
            assert outlet["platform_post_id"] and takedown["response"], outlet

    tombstone = await hub.http.get(f"/api/v1/sites/province/items/{content_id}")
    assert tombstone.status_code == 410
    assert content_id not in [i["id"] for i in await hub.column_items("province", "news")]
    await wait_for(lambda: _true(hooked(received, content_id, "content.retracted")), within=30)

    everything = await boxes.all_posts()
    for account, posts in everything.items():
        mine = [p for p in posts if content_id in p["link"]]
        assert len(mine) == 1 and not mine[0]["live"], (account, mine)
    wechat = await boxes.state("wechat-sandbox")
    assert all(
        a["status"] == 5 for acc in wechat["accounts"].values() for a in acc["articles"]
    )  # 已删除
    item = await hub.content(content_id)
    assert item["status"] == "retracted", item["status"]


async def check_refused_accounts(hub: HubClient, accounts: dict[str, dict[str, Any]]) -> None:
    """A second active account of one unit and platform is a 409; credentials the platform
    refuses are a 422; neither registers anything."""
    admin = await hub.login("admin")
    first = accounts["wxdemo0000000001"]
    registration = {
        "platform": "wechat",
        "name": "四川发布二号",
        "platform_account_id": "wxdemo0000000009",
        "app_id": "wxdemo0000000009",
        "unit": first["unit"],
        "sites": ["province"],
        "credentials": {"appid": "wxdemo0000000001", "secret": "demo-wechat-secret-1"},
    }
    second = await hub.http.post("/api/v1/channels/accounts", headers=admin, json=registration)
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"
    assert "unit" in second.text

    wrong = {
        **registration,
        "unit": "大邑县人民政府办公室",
        "sites": ["county"],
        "credentials": {"appid": "wxdemo0000000001", "secret": "not-the-secret"},
    }
    refused = await hub.http.post("/api/v1/channels/accounts", headers=admin, json=wrong)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "credentials" in refused.text
    assert sorted(await demo_accounts(hub)) == sorted(accounts)  # nothing registered


async def check_nothing_sent_for_bad_targets(
    hub: HubClient, boxes: Sandboxes, accounts: dict[str, dict[str, Any]]
) -> None:
    """A Weibo teaser that cannot fit, an unknown account, a closed account: a finding in the
    preview, Weibo deliveries `needs_edit`, nothing on the sandboxes."""
    shares_before = (await boxes.state(WEIBO))["counts"]["calls"].get("statuses/share", 0)
    long_one = await hub.submit({**notice(2, "news"), "title": LONG_TITLE})
    shown = await preview(hub, long_one["id"])
    codes = [f["code"] for f in shown["variants"]["weibo"]["findings"]]
    assert codes == ["teaser_cannot_fit"], shown["variants"]["weibo"]
    weibo_accounts = [a for a in shown["accounts"] if a["platform"] == "weibo"]
    assert weibo_accounts and not any(a["ready"] for a in weibo_accounts)

    closing = accounts["5000000002"]
    closed = await hub.http.post(
        f"/api/v1/channels/accounts/{closing['id']}/status",
        headers=await hub.login("admin"),
        json={"status": "closed", "reason": "账号已停止运营"},
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    unknown = await hub.submit({**notice(3), "accounts": ["acct-does-not-exist"]})
    to_closed = await hub.submit({**notice(4), "accounts": [closing["id"]]})
    for accepted, code in ((unknown, "unknown_account"), (to_closed, "account_closed")):
        findings = (await preview(hub, accepted["id"]))["findings"]
        assert [(f["field"], f["code"]) for f in findings] == [("accounts", code)], findings

    for accepted in (long_one, unknown, to_closed):
        await hub.approve_all_stages(accepted["id"])
    # (the subscriber's receiver is gone by now: its pushes wait, and are not looked at)
    rows = await settled_deliveries(hub, long_one["id"], but=("webhook",))
    weibo_rows = [d for d in rows if d["channel"] == "weibo"]
    assert weibo_rows and {d["state"] for d in weibo_rows} == {"needs_edit"}, weibo_rows
    for accepted in (unknown, to_closed):
        rows = await settled_deliveries(hub, accepted["id"], but=("webhook",))
        assert [d["state"] for d in rows if d["channel"] == "portal"] == ["delivered"], rows
        named = [d for d in rows if d["channel"] != "portal"]
        # the named account the item cannot go to stays visible to the editor, with why
        assert len(named) == 1 and named[0]["attempts"] == 0, rows
        assert named[0]["state"] in ("failed", "cancelled") and named[0]["last_error"], rows
    listed = {i["id"] for i in await hub.column_items("province", "notices")}
    assert {unknown["id"], to_closed["id"]} <= listed  # the portal still got them

    everything = await boxes.all_posts()
    for accepted in (long_one, unknown, to_closed):
        counts = posts_of(everything, accepted["id"])
        if accepted is long_one:
            assert not any(counts[uid] for uid in ("5000000001", "5000000002")), counts
        else:
            assert not any(counts.values()), counts
    shares_after = (await boxes.state(WEIBO))["counts"]["calls"].get("statuses/share", 0)
    assert shares_after == shares_before  # not one call to post on Weibo
