"""Limits enforced before the platforms: per-account windows and the per-app daily cap shared
by accounts of one Weibo app; what cannot go now is planned, in created order, and the plan
(`GET /api/v1/channels/plan`) shows when and why."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col

from common.events import utcnow
from common.pagination import Page
from services.distribute.channels.quota import plan, window_end, window_start
from services.distribute.models import ChannelQuota
from services.distribute.schemas import DeliveryPublic, PlannedPostPublic
from tests.integration.distribute.channels.conftest import ChannelsFactory
from tests.integration.distribute.conftest import EDITOR, ingested

WX1, WX2, WB1, WB2 = "wxdemo0000000001", "wxdemo0000000002", "5000000001", "5000000002"


async def test_wechat_minute_window_plans_the_rest_in_order(
    make_channels: ChannelsFactory,
) -> None:
    channels = await make_channels(wechat_posts_per_minute=2)
    for content_id in ("c1", "c2", "c3"):
        await channels.distribute.publish(ingested(content_id, columns=["news"]))
    await channels.drain()
    states = {c: (await channels.deliveries(c))[WX1].state for c in ("c1", "c2", "c3")}
    assert states == {"c1": "delivered", "c2": "delivered", "c3": "pending"}
    assert len(channels.wechat.made("publish", "submit", WX1)) == 2  # the third not sent
    held = (await channels.deliveries("c3"))[WX1]
    now = utcnow()
    assert held.next_attempt_at is not None
    frees = window_end("minute", window_start("minute", now))
    assert abs((held.next_attempt_at.replace(tzinfo=frees.tzinfo) - frees).total_seconds()) < 61

    account = await channels.account(WX1)
    response = await channels.distribute.client.get(
        f"/api/v1/channels/plan?account_id={account.id}", headers=EDITOR
    )
    assert response.status_code == 200, response.text
    Page[PlannedPostPublic].model_validate(response.json(), strict=True)  # as documented
    [item] = response.json()["items"]
    assert item["delivery_id"] == held.id and item["content_id"] == "c3"
    assert "每分钟发布配额已满（2 条）" in item["reason"]
    [row] = await channels.rows(
        ChannelQuota,
        col(ChannelQuota.scope) == f"account:{account.id}",
        col(ChannelQuota.window) == "minute",
    )
    assert row.used == 2
    listed = await channels.distribute.client.get(
        "/api/v1/deliveries?content_id=c3", headers=EDITOR
    )
    page = Page[DeliveryPublic].model_validate(listed.json(), strict=True)
    assert {"wechat", "weibo"} <= {d.channel for d in page.items}


async def test_accounts_sharing_a_weibo_app_share_its_daily_cap(
    make_channels: ChannelsFactory,
) -> None:
    channels = await make_channels(weibo_app_posts_per_day=3)
    for content_id in ("c1", "c2"):
        await channels.distribute.publish(ingested(content_id, columns=["news"]))
    await channels.drain()
    assert len(channels.weibo.made("publish", "share")) == 3  # 4 posts, 3 allowed by the app
    waiting = [
        d
        for c in ("c1", "c2")
        for a, d in (await channels.deliveries(c)).items()
        if a in (WB1, WB2) and d.state == "pending"
    ]
    assert [d.content_id for d in waiting] == ["c2"]

    async with channels.distribute.app.state.db.sessions() as session:
        planned = await plan(session, utcnow(), channels.settings)
    assert [p.delivery_id for p in planned] == [waiting[0].id]
    tomorrow = window_end("day", window_start("day", utcnow()))
    assert planned[0].planned_at == tomorrow and "每日" in planned[0].reason
    # the posts a new approval adds go after it, one by one into the next day's window
    await channels.distribute.publish(ingested("c3", columns=["news"]))
    async with channels.distribute.app.state.db.sessions() as session:
        later = await plan(session, utcnow(), channels.settings)
    weibo = [
        p
        for p in later
        if p.content_id == "c3"
        and p.account_id in {(await channels.account(WB1)).id, (await channels.account(WB2)).id}
    ]
    assert len(weibo) == 2
    assert [p.delivery_id for p in later][0] == waiting[0].id  # created order
    assert all(p.planned_at >= tomorrow for p in weibo)
    assert all(p.planned_at < tomorrow + timedelta(days=1) for p in weibo)
