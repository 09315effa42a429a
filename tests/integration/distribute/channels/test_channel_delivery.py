"""The new-media delivery core driven through the `channels` job step with scripted adapters:
release → one delivery per account, posted once; interrupted or lost final steps reconciled by
reading back, never resent; error classes; closed accounts; variants bound at approval."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col

from common.events import ContentIngested
from services.distribute.channels.contract import Outcome, StepResult
from services.distribute.models import ChannelAccount, ChannelVariant, Delivery, Release
from tests.integration.distribute.channels.conftest import Channels
from tests.integration.distribute.conftest import EDITOR, ingested

WX1, WX2, WB1, WB2 = "wxdemo0000000001", "wxdemo0000000002", "5000000001", "5000000002"


def news(content_id: str = "c1", **overrides: Any) -> ContentIngested:
    return ingested(content_id, columns=["news"], **overrides)


async def release_of(channels: Channels, content_id: str, version: int = 1) -> Release:
    [release] = await channels.rows(
        Release, col(Release.content_id) == content_id, col(Release.version) == version
    )
    assert isinstance(release, Release)
    return release


async def test_release_posts_once_to_every_account(channels: Channels) -> None:
    item = news()
    await channels.distribute.handle(item)  # rendered on arrival, for review to preview
    rendered = await channels.rows(ChannelVariant, col(ChannelVariant.content_id) == "c1")
    assert {v.platform for v in rendered} == {"wechat", "weibo"}
    await channels.distribute.publish(item)
    found = await channels.deliveries("c1")
    assert set(found) == {WX1, WX2, WB1, WB2}
    assert {d.state for d in found.values()} == {"pending"}
    variants = {
        v.platform: v
        for v in await channels.rows(ChannelVariant, col(ChannelVariant.content_id) == "c1")
    }
    for delivery in found.values():
        post = await channels.post(delivery.id)
        assert delivery.content_hash == item.content_hash and delivery.account_id
        assert post.variant_hash == variants[post.platform].variant_hash and post.stage == "new"
        assert len(post.marker) == 12
    assert (await release_of(channels, "c1")).state == "delivering"

    await channels.drain()
    found = await channels.deliveries("c1")
    assert {d.state for d in found.values()} == {"delivered"}
    for account in (WX1, WX2):
        assert [c.step for c in channels.wechat.calls if c.account == account] == [
            "draft",
            "submit",
        ]
    for account in (WB1, WB2):
        assert [c.step for c in channels.weibo.calls if c.account == account] == ["share"]
    post = await channels.post(found[WB1].id)
    assert post.post_url == f"https://weibo.example/{post.marker}" and post.stage == "published"
    assert "attempting" not in post.progress
    release = await release_of(channels, "c1")
    assert release.state == "published"
    [published] = await channels.distribute.outbox("content.published")
    assert {d.target for d in found.values()} <= set(published["targets"])
    states = [e["state"] for e in await channels.events(found[WX1].target)]
    assert states == ["pending", "delivered"]
    assert await channels.step() == 0  # nothing left: nothing is sent again


async def test_interrupted_final_step_is_read_back_not_resent(channels: Channels) -> None:
    """The process dies after marking the share as being attempted: the expired lease leads
    to `confirm`, which finds it live."""
    await channels.distribute.publish(news())
    claims = await channels.distribute.run(channels.dispatcher.lease)  # leased, never called
    weibo = [c for c in claims if c.platform == "weibo"]
    assert weibo and all(c.progress.get("attempting") == "share" for c in weibo)
    found = await channels.deliveries("c1")
    assert (await channels.post(found[WB1].id)).progress["attempting"] == "share"
    assert found[WB1].state == "sending"
    post = await channels.post(found[WB1].id)
    channels.weibo.answer("confirm", "", channels.weibo.live(post.marker), account=WB1)

    await channels.make_due(*(d.id for d in found.values()))  # the leases expire
    await channels.drain()
    assert [c.method for c in channels.weibo.calls if c.account == WB1] == ["confirm"]
    assert channels.weibo.made("publish", "share", WB1) == []
    delivered = (await channels.deliveries("c1"))[WB1]
    assert delivered.state == "delivered"
    post = await channels.post(delivered.id)
    assert post.platform_post_id == f"a-{post.marker}" and "attempting" not in post.progress
    # the other Weibo account had no answer scripted: read back absent, then shared once
    assert [c.method for c in channels.weibo.calls if c.account == WB2] == ["confirm", "publish"]


async def test_lost_answer_is_unknown_then_confirmed(channels: Channels) -> None:
    channels.weibo.answer("publish", "share", StepResult(Outcome.UNKNOWN, error="ReadTimeout"))
    channels.weibo.answer("confirm", "", StepResult(Outcome.ACCEPTED))
    await channels.distribute.publish(news())
    await channels.drain()
    found = await channels.deliveries("c1")
    lost = next(d for d in (found[WB1], found[WB2]) if d.state == "unknown")
    post = await channels.post(lost.id)
    assert post.progress["attempting"] == "share"
    assert (await channels.release_state("c1")) == "delivering"
    events = await channels.events(lost.target)
    assert events[-1]["state"] == "unknown" and "回读" in events[-1]["detail"]

    await channels.make_due(lost.id)
    await channels.drain()
    assert (await channels.deliveries("c1"))[post_account(found, lost)].state == "confirming"
    channels.weibo.answer("confirm", "", channels.weibo.live(post.marker))
    await channels.make_due(lost.id)
    await channels.drain()
    assert (await channels.deliveries("c1"))[post_account(found, lost)].state == "delivered"
    account = post_account(found, lost)
    assert len(channels.weibo.made("publish", "share", account)) == 1  # never sent twice
    assert (await channels.release_state("c1")) == "published"
    outcomes = [a.outcome for a in await channels.attempts(lost.id)]
    assert outcomes == ["unknown", "accepted", "published"]


def post_account(found: dict[str, Delivery], delivery: Delivery) -> str:
    return next(k for k, v in found.items() if v is delivery)


async def test_absent_on_read_back_is_sent_once_more(channels: Channels) -> None:
    channels.wechat.answer("publish", "submit", StepResult(Outcome.UNKNOWN, error="ReadTimeout"))
    await channels.distribute.publish(news())
    await channels.drain()
    found = await channels.deliveries("c1")
    doubtful = [a for a in (WX1, WX2) if found[a].state == "unknown"]
    assert len(doubtful) == 1
    [account] = doubtful
    await channels.make_due(found[account].id)
    await channels.drain()  # confirm → ABSENT (the default): safe to submit again, once
    methods = [(c.method, c.step) for c in channels.wechat.calls if c.account == account]
    assert methods == [
        ("publish", "draft"),
        ("publish", "submit"),
        ("confirm", ""),
        ("publish", "submit"),
    ]
    assert (await channels.deliveries("c1"))[account].state == "delivered"
    assert await channels.step() == 0


async def test_duplicate_is_read_back_ours_or_back_to_the_editors(channels: Channels) -> None:
    """20019/20017: the platform says it has it. Found on the account: it is ours, delivered.
    Not found: it is like someone else's post — back to the editors, never resent in a loop."""
    similar = StepResult(Outcome.DUPLICATE, error_code="20017", error="similar content")
    channels.weibo.answer("publish", "share", similar, account=WB1)
    channels.weibo.answer("publish", "share", similar, account=WB2)
    await channels.distribute.publish(news())
    await channels.drain()
    found = await channels.deliveries("c1")
    assert found[WB1].state == found[WB2].state == "unknown"
    ours = await channels.post(found[WB1].id)
    channels.weibo.answer("confirm", "", channels.weibo.live(ours.marker), account=WB1)
    await channels.make_due(found[WB1].id, found[WB2].id)
    await channels.drain()
    found = await channels.deliveries("c1")
    assert found[WB1].state == "delivered"
    assert found[WB2].state == "needs_edit" and "20017" in found[WB2].last_error
    for account in (WB1, WB2):
        assert len(channels.weibo.made("publish", "share", account)) == 1
    # published where it could go; the refused post is the editors' work item
    assert await channels.release_state("c1") == "published"


async def test_park_is_never_retried_before_the_reset(channels: Channels) -> None:
    parked = StepResult(
        Outcome.PARK, error_code="45009", error="reach max api daily quota limit", retry_after=3600
    )
    channels.wechat.answer("publish", "submit", parked)
    await channels.distribute.publish(news("c1"))
    await channels.drain()
    first = await channels.deliveries("c1")
    account = next(a for a in (WX1, WX2) if first[a].state == "parked")
    await channels.distribute.publish(news("c2"))
    await channels.drain()
    assert channels.wechat.made("publish", "submit", account).__len__() == 1
    second = await channels.deliveries("c2")
    assert second[account].state == "pending"  # held by the account's pause, nothing sent
    assert [c.marker for c in channels.wechat.made("publish", "", account)] == [
        (await channels.post(first[account].id)).marker
    ] * 2

    acc = await channels.account(account)
    plan = await channels.distribute.client.get(
        f"/api/v1/channels/plan?account_id={acc.id}", headers=EDITOR
    )
    assert plan.status_code == 200, plan.text
    items = plan.json()["items"]
    assert [i["content_id"] for i in items] == ["c1", "c2"]
    assert all("平台限流" in i["reason"] for i in items)
    assert items[0]["planned_at"] <= items[1]["planned_at"]

    await channels.make_due(first[account].id, second[account].id)  # time passes, not the pause
    await channels.drain()
    assert len(channels.wechat.made("publish", "", account)) == 2  # c2 still held

    await channels.lift_pauses()
    await channels.make_due(first[account].id, second[account].id)
    await channels.drain()
    sent = [c.marker for c in channels.wechat.made("publish", "submit", account)]
    markers = [(await channels.post(d[account].id)).marker for d in (first, second)]
    assert sent == [markers[0], markers[0], markers[1]]  # plan order: c1 before c2
    assert (await channels.deliveries("c1"))[account].state == "delivered"
    assert (await channels.deliveries("c2"))[account].state == "delivered"
    states = [e["state"] for e in await channels.events(first[account].target)]
    assert "parked" in states


async def test_closed_account_is_cancelled_and_release_completes(channels: Channels) -> None:
    await channels.distribute.publish(news())
    closed = await channels.account(WB2)
    await channels.execute(
        update(ChannelAccount).where(col(ChannelAccount.id) == closed.id).values(status="closed")
    )
    await channels.drain()
    found = await channels.deliveries("c1")
    assert found[WB2].state == "cancelled" and "已注销" in found[WB2].last_error
    assert channels.weibo.made("publish", "", WB2) == []
    assert (await channels.release_state("c1")) == "published"


async def test_suspended_account_keeps_its_post_pending(channels: Channels) -> None:
    await channels.distribute.publish(news())
    held = await channels.account(WX2)
    await channels.execute(
        update(ChannelAccount).where(col(ChannelAccount.id) == held.id).values(status="suspended")
    )
    await channels.drain()
    assert (await channels.deliveries("c1"))[WX2].state == "pending"
    assert channels.wechat.made("publish", "", WX2) == []
    assert (await channels.release_state("c1")) == "delivering"


async def test_variant_changed_after_approval_is_not_sent(channels: Channels) -> None:
    await channels.distribute.publish(news())
    await channels.execute(
        update(ChannelVariant)
        .where(col(ChannelVariant.content_id) == "c1", col(ChannelVariant.platform) == "weibo")
        .values(
            body={"teaser": "被改过的内容", "link": "https://www.sc.gov.cn/news/c1.html"},
            variant_hash="0" * 64,
        )
    )
    await channels.drain()
    found = await channels.deliveries("c1")
    assert found[WB1].state == found[WB2].state == "failed"
    assert found[WB1].last_error == "variant changed after approval"
    assert channels.weibo.calls == []
    assert found[WX1].state == "delivered"
    release = await release_of(channels, "c1")
    assert release.state == "failed" and "variant changed" in release.detail

    # an edited body under the approved hash is caught too (the hash is recomputed)
    await channels.distribute.publish(news("c2"))
    [wechat] = await channels.rows(
        ChannelVariant,
        col(ChannelVariant.content_id) == "c2",
        col(ChannelVariant.platform) == "wechat",
    )
    edited = {**wechat.body, "content": "<p>审核后被改动的正文</p>"}
    await channels.execute(
        update(ChannelVariant)
        .where(col(ChannelVariant.content_id) == "c2", col(ChannelVariant.platform) == "wechat")
        .values(body=edited)
    )
    before = len(channels.wechat.calls)
    await channels.drain()
    found = await channels.deliveries("c2")
    assert found[WX1].state == found[WX2].state == "failed"
    assert len(channels.wechat.calls) == before
    release = await release_of(channels, "c2")
    assert release.state == "failed" and "variant changed" in release.detail


async def test_findings_and_foreign_link_need_edit_nothing_sent(channels: Channels) -> None:
    other = await channels.account(WB1)
    await channels.execute(
        update(ChannelAccount)
        .where(col(ChannelAccount.id) == other.id)
        .values(safe_domain="example.org")
    )
    await channels.distribute.publish(news(title="标" * 40))  # over WeChat's 32 characters
    found = await channels.deliveries("c1")
    assert found[WX1].state == found[WX2].state == "needs_edit"
    assert "32" in found[WX1].last_error
    assert found[WB1].state == "needs_edit" and "安全域名" in found[WB1].last_error
    assert found[WB2].state == "pending"
    await channels.drain()
    assert channels.wechat.calls == [] and [c.account for c in channels.weibo.calls] == [WB2]
    release = await release_of(channels, "c1")  # a finding is not a failed publication
    assert release.state == "published"
    [published] = await channels.distribute.outbox("content.published")
    assert published["targets"] == sorted(["portal:province/news", found[WB2].target])
    [event] = await channels.events(found[WB1].target)
    assert event["state"] == "needs_edit" and "安全域名" in event["detail"]


async def test_unknown_named_account_fails_with_reason(channels: Channels) -> None:
    await channels.distribute.publish(news(accounts=["acc_missing"]))
    found = await channels.deliveries("c1")
    assert found["account:acc_missing"].state == "failed"
    assert "不存在" in found["account:acc_missing"].last_error


async def test_config_error_fails_and_marks_the_account(channels: Channels) -> None:
    refused = StepResult(
        Outcome.CONFIG, error_code="48001", error="api unauthorized", response='{"errcode":48001}'
    )
    channels.wechat.answer("publish", "draft", refused)
    await channels.distribute.publish(news())
    await channels.drain()
    found = await channels.deliveries("c1")
    failed = next(a for a in (WX1, WX2) if found[a].state == "failed")
    assert "48001" in found[failed].last_error
    assert "48001" in (await channels.account(failed)).status_reason
    [attempt] = await channels.attempts(found[failed].id)
    assert attempt.outcome == "config" and attempt.response == '{"errcode":48001}'


async def test_retry_backs_off_then_succeeds(channels: Channels) -> None:
    channels.weibo.answer(
        "publish", "share", StepResult(Outcome.RETRY, error_code="10001", error="system error")
    )
    await channels.distribute.publish(news())
    await channels.drain()
    found = await channels.deliveries("c1")
    waiting = next(d for d in (found[WB1], found[WB2]) if d.state == "pending")
    assert (
        waiting.next_attempt_at is not None
        and "attempting" not in (await channels.post(waiting.id)).progress
    )
    assert [e["state"] for e in await channels.events(waiting.target)][-1] == "retrying"
    assert await channels.step() == 0  # not before its backoff
    await channels.make_due(waiting.id)
    await channels.drain()
    assert (await channels.deliveries("c1"))[post_account(found, waiting)].state == "delivered"


async def test_retry_after_pauses_the_account_and_shows_in_the_plan(channels: Channels) -> None:
    limited = StepResult(
        Outcome.RETRY, error_code="45011", error="api minute-quota reach limit", retry_after=120
    )
    channels.wechat.answer("publish", "submit", limited, account=WX1)
    await channels.distribute.publish(news("c1"))
    await channels.drain()
    await channels.distribute.publish(news("c2"))
    await channels.drain()
    first, second = await channels.deliveries("c1"), await channels.deliveries("c2")
    assert first[WX1].state == second[WX1].state == "pending"
    assert len(channels.wechat.made("publish", "submit", WX1)) == 1  # c2 waits for the pause
    assert second[WX2].state == "delivered"  # other accounts are not held
    account = await channels.account(WX1)
    response = await channels.distribute.client.get(
        f"/api/v1/channels/plan?account_id={account.id}", headers=EDITOR
    )
    items = response.json()["items"]
    assert [i["content_id"] for i in items] == ["c1", "c2"]
    assert all("平台限流" in i["reason"] for i in items)
