"""Through the real adapters to the WeChat and Weibo sandboxes over HTTP: an approved item lands
exactly once on each demo account (counted on the sandboxes' side), a share whose answer is
lost is reconciled by reading the timeline back, and a retraction takes every post down."""

from __future__ import annotations

import asyncio
import time

from common.events import ContentRetractionRequested
from services.distribute.models import Delivery
from tests.fixtures.sandbox_timing import ANSWER_TIMEOUT_SECONDS, HELD_ANSWER_SECONDS
from tests.fixtures.sandbox_wechat import WechatSandbox
from tests.fixtures.sandbox_weibo import WeiboSandbox
from tests.integration.distribute.channels.conftest import Channels, ChannelsFactory
from tests.integration.distribute.conftest import ingested

WX1, WX2, WB1, WB2 = "wxdemo0000000001", "wxdemo0000000002", "5000000001", "5000000002"


OPEN = ("pending", "sending", "confirming", "unknown", "parked")


async def until_settled(
    channels: Channels,
    content_id: str,
    action: str = "publish",
    open_states: tuple[str, ...] = OPEN,
) -> dict[str, Delivery]:
    """Run the job until the item's new-media deliveries leave `open_states` (≤ 15 s)."""
    deadline = time.monotonic() + 15
    while True:
        await channels.drain()
        found = await channels.deliveries(content_id, action)
        states = {d.state for d in found.values()}
        if not states & set(open_states):
            return found
        assert time.monotonic() < deadline, {a: (d.state, d.last_error) for a, d in found.items()}
        await asyncio.sleep(0.1)


async def test_an_item_lands_once_on_every_sandbox_account_and_is_retracted(
    make_channels: ChannelsFactory, sandbox_wechat: WechatSandbox, sandbox_weibo: WeiboSandbox
) -> None:
    channels = await make_channels(
        real=True,
        wechat_api_url=sandbox_wechat.base_url,
        weibo_api_url=sandbox_weibo.base_url,
        channel_timeout_seconds=ANSWER_TIMEOUT_SECONDS,
        wechat_confirm_seconds=0.1,
    )
    # the first share's answer is lost after the post was stored
    sandbox_weibo.arm("statuses/share", "timeout_after", delay=HELD_ANSWER_SECONDS)
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    found = await until_settled(channels, "c1")
    assert {a: d.state for a, d in found.items()} == dict.fromkeys(
        (WX1, WX2, WB1, WB2), "delivered"
    )

    for appid in (WX1, WX2):
        post = await channels.post(found[appid].id)
        [article] = sandbox_wechat.account(appid)["articles"]
        assert post.marker in article["content_source_url"]
        assert post.post_url == article["url"] and article["status"] == 0
    for uid in (WB1, WB2):
        post = await channels.post(found[uid].id)
        [landed] = sandbox_weibo.posts(uid)  # exactly once, the lost answer included
        assert post.marker in landed["text"] and post.platform_post_id == landed["idstr"]
    outcomes = {
        uid: [a.outcome for a in await channels.attempts(found[uid].id)] for uid in (WB1, WB2)
    }
    assert sorted(outcomes.values()) == [["published"], ["unknown", "published"]]
    assert await channels.release_state("c1") == "published"

    request = ContentRetractionRequested(content_id="c1", reason="内容有误", requested_by="editor")
    await channels.distribute.handle(request)
    removed = await until_settled(channels, "c1", action="retract")
    assert {d.state for d in removed.values()} == {"delivered"}
    for appid in (WX1, WX2):
        [article] = sandbox_wechat.account(appid)["articles"]
        assert article["status"] != 0  # deleted on the platform
    for uid in (WB1, WB2):
        [landed] = sandbox_weibo.posts(uid)
        assert landed["deleted"]
    for delivery in removed.values():
        [*_, last] = await channels.attempts(delivery.id)
        assert last.outcome == "removed" and last.response  # the platform's answer, kept


async def test_wechat_lost_submit_and_daily_quota_each_end_in_one_article(
    make_channels: ChannelsFactory, sandbox_wechat: WechatSandbox, sandbox_weibo: WeiboSandbox
) -> None:
    """One submit's answer is lost after the job started (read back, not resubmitted); the
    other account's submit hits 45009 and is parked until the quota resets, then goes once."""
    channels = await make_channels(
        real=True,
        wechat_api_url=sandbox_wechat.base_url,
        weibo_api_url=sandbox_weibo.base_url,
        channel_timeout_seconds=ANSWER_TIMEOUT_SECONDS,
        wechat_confirm_seconds=0.1,
    )
    sandbox_wechat.arm("freepublish/submit", "timeout_after", delay=HELD_ANSWER_SECONDS)
    sandbox_wechat.arm("freepublish/submit", "quota")
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    found = await until_settled(
        channels, "c1", open_states=("pending", "sending", "confirming", "unknown")
    )
    parked = [a for a in (WX1, WX2) if found[a].state == "parked"]
    assert len(parked) == 1, {a: (d.state, d.last_error) for a, d in found.items()}
    [held] = parked
    assert "45009" in found[held].last_error
    assert sandbox_wechat.account(held)["articles"] == []
    # nothing is sent while the pause holds, however often the job runs
    await channels.make_due(found[held].id)
    await channels.drain()
    assert sandbox_wechat.account(held)["articles"] == []

    await channels.lift_pauses()  # the quota reset
    await channels.make_due(found[held].id)
    found = await until_settled(channels, "c1")
    assert {found[a].state for a in (WX1, WX2)} == {"delivered"}
    for appid in (WX1, WX2):
        [article] = sandbox_wechat.account(appid)["articles"]  # exactly one each
        assert (await channels.post(found[appid].id)).marker in article["content_source_url"]
    other = WX2 if held == WX1 else WX1
    assert sandbox_wechat.account(other)["counts"]["submit"] == 1  # read back, not resubmitted
    outcomes = [a.outcome for a in await channels.attempts(found[other].id)]
    assert "unknown" in outcomes and outcomes[-1] == "published"
