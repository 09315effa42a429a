"""Retraction reaches every new-media account that carried the item, with the platform's
answer as evidence; a post in doubt is taken down only once it proves live."""

from __future__ import annotations

from sqlmodel import col

from common.events import ContentRetractionRequested
from services.distribute.channels.contract import Outcome, StepResult
from services.distribute.models import ChannelPost, Delivery
from tests.integration.distribute.channels.conftest import FINAL, Channels
from tests.integration.distribute.conftest import ADMIN, ingested

WX1, WX2, WB1, WB2 = "wxdemo0000000001", "wxdemo0000000002", "5000000001", "5000000002"


def takedown(content_id: str = "c1") -> ContentRetractionRequested:
    return ContentRetractionRequested(
        content_id=content_id, reason="内容有误", requested_by="editor"
    )


async def test_retraction_takes_every_post_down_with_evidence(channels: Channels) -> None:
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    await channels.drain()
    published = await channels.deliveries("c1")
    assert {d.state for d in published.values()} == {"delivered"}

    await channels.distribute.handle(takedown())
    pending = await channels.deliveries("c1", action="retract")
    assert set(pending) == {WX1, WX2, WB1, WB2}
    assert {d.state for d in pending.values()} == {"pending"}
    channels.weibo.answer(
        "retract", "", StepResult(Outcome.RETRY, error_code="10001", error="system error")
    )
    await channels.drain()
    done = await channels.deliveries("c1", action="retract")
    retried = [a for a in (WB1, WB2) if done[a].state == "pending"]
    assert len(retried) == 1
    await channels.make_due(done[retried[0]].id)
    await channels.drain()

    done = await channels.deliveries("c1", action="retract")
    assert {d.state for d in done.values()} == {"delivered"}
    for account, delivery in done.items():
        post = await channels.post(published[account].id)
        assert post.stage == "removed"
        adapter = channels.wechat if account.startswith("wx") else channels.weibo
        [*_, call] = adapter.made("retract", account=account)
        assert call.progress["article_id"] == post.progress["article_id"]  # the post's own ids
        attempts = await channels.attempts(delivery.id)
        assert attempts[-1].outcome == "removed"
        assert attempts[-1].response == '{"errcode": 0, "errmsg": "ok"}'  # the evidence
        shown = await channels.distribute.client.get(
            f"/api/v1/deliveries/{delivery.id}", headers=ADMIN
        )
        assert shown.json()["account_id"] == delivery.account_id
        assert shown.json()["log"][-1]["response"] == attempts[-1].response  # staff see it too
        events = await channels.events(delivery.target)
        assert events[-1]["state"] == "retracted"
    assert len(channels.weibo.made("retract")) == 3  # one retried, none doubled
    assert await channels.release_state("c1") == "retracted"


async def test_post_in_doubt_waits_then_is_taken_down(channels: Channels) -> None:
    channels.weibo.answer("publish", "share", StepResult(Outcome.UNKNOWN, error="ReadTimeout"))
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    await channels.drain()
    found = await channels.deliveries("c1")
    doubt = next(a for a in (WB1, WB2) if found[a].state == "unknown")

    await channels.distribute.handle(takedown())
    takedowns = await channels.deliveries("c1", action="retract")
    assert takedowns[doubt].state == "waiting"
    other = WB2 if doubt == WB1 else WB1
    assert takedowns[other].state == "pending"

    [post] = await channels.rows(ChannelPost, col(ChannelPost.delivery_id) == found[doubt].id)
    channels.weibo.answer("confirm", "", channels.weibo.live(post.marker))
    await channels.make_due(found[doubt].id)
    await channels.drain()
    assert (await channels.deliveries("c1"))[doubt].state == "delivered"  # it was live after all
    assert (await channels.deliveries("c1", action="retract"))[doubt].state == "delivered"
    assert len(channels.weibo.made("retract", account=doubt)) == 1
    assert channels.weibo.made("publish", "share", doubt).__len__() == 1


async def test_unsent_posts_are_cancelled_by_retraction(channels: Channels) -> None:
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    await channels.distribute.handle(takedown())
    found = await channels.deliveries("c1")
    assert {d.state for d in found.values()} == {"cancelled"}
    assert await channels.deliveries("c1", action="retract") == {}
    await channels.drain()
    assert channels.wechat.calls == [] and channels.weibo.calls == []


async def test_a_correction_replaces_each_post_instead_of_adding_one(channels: Channels) -> None:
    """Version 2 approved: every account's version-1 post comes down (with the platform's
    answer) and the corrected one goes up — one live post per account, never two."""
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    await channels.drain()
    first = await channels.deliveries("c1")
    assert {d.state for d in first.values()} == {"delivered"}

    await channels.distribute.publish(
        ingested("c1", version=2, columns=["news"], title="更正后的标题")
    )
    await channels.drain()
    takedowns = await channels.deliveries("c1", action="retract")
    assert set(takedowns) == {WX1, WX2, WB1, WB2}
    assert {(d.version, d.state) for d in takedowns.values()} == {(1, "delivered")}
    for account, publication in first.items():
        assert (await channels.post(publication.id)).stage == "removed"
        adapter = channels.wechat if account.startswith("wx") else channels.weibo
        [taken] = adapter.made("retract", account=account)  # the old post, once
        assert (
            taken.progress["article_id"]
            == (await channels.post(publication.id)).progress["article_id"]
        )
        assert len(adapter.made("publish", FINAL[adapter.platform], account)) == 2
    corrected = await channels.rows(
        Delivery, col(Delivery.version) == 2, col(Delivery.action) == "publish"
    )
    assert {d.state for d in corrected if d.channel in ("wechat", "weibo")} == {"delivered"}
    assert await channels.release_state("c1", version=2) == "published"


async def test_a_correction_cancels_an_older_post_not_yet_sent(channels: Channels) -> None:
    paused = StepResult(
        Outcome.PARK, error_code="45009", error="reach max api daily quota limit", retry_after=3600
    )
    channels.wechat.answer("publish", "draft", paused, account=WX1)
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    await channels.drain()
    assert (await channels.deliveries("c1"))[WX1].state == "parked"

    await channels.distribute.publish(ingested("c1", version=2, columns=["news"]))
    [old] = await channels.rows(
        Delivery,
        col(Delivery.version) == 1,
        col(Delivery.target) == f"wechat:{(await channels.account(WX1)).id}",
    )
    assert old.state == "cancelled" and "superseded by version 2" in old.last_error
    assert not channels.wechat.made("retract", account=WX1)  # nothing was live to take down
