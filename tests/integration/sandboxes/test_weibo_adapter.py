"""The Weibo adapter against the Weibo sandbox over real HTTP: what lands on the account (counted
on the sandbox's side) for each way the platform answers or fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.distribute.channels.contract import AccountAccess, Outcome
from services.distribute.channels.weibo_render import STATUS_LIMIT, render_weibo
from services.distribute.clients.weibo import WeiboAdapter, next_hour, weibo_adapter
from services.distribute.models import ContentSnapshot
from services.distribute.settings import DistributeSettings
from tests.fixtures.sandbox_timing import ANSWER_TIMEOUT_SECONDS, HELD_ANSWER_SECONDS
from tests.fixtures.sandbox_weibo import PICTURE, WeiboSandbox

UID = "5000000001"
ARTICLE = "https://www.sc.gov.cn/province/news/c0001.html"


def account(number: int = 1, uid: str = UID) -> AccountAccess:
    return AccountAccess(
        account_id=f"acc{number}",
        platform="weibo",
        platform_account_id=uid,
        app_id="weibodemoapp",
        credentials={"access_token": f"demo-weibo-token-{number}"},
        safe_domain="gov.cn",
    )


def variant(
    title: str = "全省春季森林防火工作电视电话会议召开", picture: str | None = None
) -> dict[str, Any]:
    snapshot = ContentSnapshot(
        content_id="c0001",
        version=1,
        content_hash="0" * 64,
        title=title,
        body_html="<p>会议要求，各地要压紧压实防火责任。</p>",
        body_text="会议要求，各地要压紧压实防火责任。严格野外火源管控，确保不发生重特大森林火灾。",
        kind="news",
        site="province",
        columns=["province/news"],
        publisher="省应急管理厅",
    )
    body = dict(render_weibo(snapshot, ARTICLE).body)
    body["picture"] = picture
    return body


@pytest.fixture
async def adapter(sandbox_weibo: WeiboSandbox) -> AsyncIterator[WeiboAdapter]:
    settings = DistributeSettings(
        weibo_api_url=sandbox_weibo.base_url,
        outbound_allow=["127.0.0.1"],  # the sandbox runs on this machine
        channel_timeout_seconds=ANSWER_TIMEOUT_SECONDS,
    )
    made = weibo_adapter(settings)
    try:
        yield made
    finally:
        await made.aclose()


async def test_a_post_with_its_picture_keeps_the_exact_idstr(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    result = await adapter.publish(
        account(), variant(picture=sandbox_weibo.picture_url), "m0000000001", {}
    )

    assert result.outcome is Outcome.PUBLISHED, result
    [post] = sandbox_weibo.posts(UID)
    assert result.platform_post_id == post["idstr"]
    assert int(post["idstr"]) > 2**53 and int(post["idstr"]) % 2 == 1  # beyond a float
    assert result.progress["idstr"] == post["idstr"]
    assert result.post_url == f"https://weibo.com/{UID}/{post['idstr']}"
    answer = json.loads(result.response)
    assert answer["idstr"] == post["idstr"] and answer["id"] == int(post["idstr"])
    assert post["pic"] and post["pic_type"] == "png" and post["pic_bytes"] == len(PICTURE)
    assert result.progress["picture"] == "attached"
    assert post["text"].endswith(f"{ARTICLE}?k=m0000000001")
    assert len(post["text"]) <= STATUS_LIMIT
    assert result.status_code == 200 and result.duration_ms >= 0


async def test_a_picture_that_cannot_be_fetched_is_left_out_and_said(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    result = await adapter.publish(account(), variant(picture=sandbox_weibo.missing_url), "m2", {})

    assert result.outcome is Outcome.PUBLISHED
    [post] = sandbox_weibo.posts(UID)
    assert not post["pic"]
    assert result.progress["picture"] == "omitted: HTTP 404"
    assert "配图" in result.error


@pytest.mark.parametrize("fault", ["timeout_after", "drop_after"])
async def test_an_answer_lost_after_accepting_is_unknown_and_confirm_finds_the_one_post(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox, fault: str
) -> None:
    sandbox_weibo.arm("statuses/share", fault, delay=HELD_ANSWER_SECONDS)

    sent = await adapter.publish(account(), variant(), "m3", {})

    assert sent.outcome is Outcome.UNKNOWN, sent
    assert sent.progress["marker"] == "m3"
    confirmed = await adapter.confirm(account(), "m3", sent.progress)
    [post] = sandbox_weibo.posts(UID)
    assert confirmed.outcome is Outcome.PUBLISHED
    assert confirmed.platform_post_id == post["idstr"]
    assert confirmed.post_url == f"https://weibo.com/{UID}/{post['idstr']}"
    assert sandbox_weibo.state()["counts"]["posts"] == 1


async def test_a_repeat_is_duplicate_and_confirm_finds_the_first(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    first = await adapter.publish(account(), variant(), "m4", {})
    again = await adapter.publish(account(), variant(), "m4", {})

    assert first.outcome is Outcome.PUBLISHED
    assert again.outcome is Outcome.DUPLICATE and again.error_code == "20019"
    assert again.status_code == 400 and json.loads(again.response)["error_code"] == 20019
    confirmed = await adapter.confirm(account(), "m4", again.progress)
    assert confirmed.outcome is Outcome.PUBLISHED
    assert confirmed.platform_post_id == first.platform_post_id
    assert len(sandbox_weibo.posts(UID)) == 1


async def test_confirm_without_the_post_is_absent_and_a_longer_marker_is_not_ours(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    await adapter.publish(account(), variant(), "m55", {})

    assert (await adapter.confirm(account(), "m5", {})).outcome is Outcome.ABSENT
    assert (await adapter.confirm(account(2, "5000000002"), "m55", {})).outcome is Outcome.ABSENT


async def test_the_hourly_limit_parks_until_the_next_hour(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    if next_hour(datetime.now(UTC)) < 5:  # the limit counts per clock hour: start in one
        await asyncio.sleep(next_hour(datetime.now(UTC)) + 0.1)
    for number in range(30):
        result = await adapter.publish(
            account(), variant(f"第{number}期政务快讯"), f"h{number}", {}
        )
        assert result.outcome is Outcome.PUBLISHED, result

    parked = await adapter.publish(account(), variant("第30期政务快讯"), "h30", {})

    assert parked.outcome is Outcome.PARK and parked.error_code == "20016"
    assert parked.retry_after is not None
    assert abs(parked.retry_after - next_hour(datetime.now(UTC))) < 5
    assert len(sandbox_weibo.posts(UID)) == 30
    # the other account of the same app still posts
    other = await adapter.publish(account(2, "5000000002"), variant("第30期政务快讯"), "h30", {})
    assert other.outcome is Outcome.PUBLISHED


async def test_a_rate_limit_answer_honours_retry_after(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    sandbox_weibo.arm("statuses/share", "rate_limit", code=10023, retry_after=120)

    parked = await adapter.publish(account(), variant(), "m6", {})

    assert parked.outcome is Outcome.PARK and parked.error_code == "10023"
    assert parked.retry_after == 120
    assert sandbox_weibo.posts(UID) == []


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [("system_error", "10001", 500), ("busy", "10009", 400), ("http_503", "http_503", 503)],
)
async def test_transient_errors_retry_and_the_retry_posts_once(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox, fault: str, code: str, status: int
) -> None:
    sandbox_weibo.arm("statuses/share", fault)

    failed = await adapter.publish(account(), variant(), "m7", {})
    retried = await adapter.publish(account(), variant(), "m7", {})

    assert (failed.outcome, failed.error_code, failed.status_code) == (Outcome.RETRY, code, status)
    assert retried.outcome is Outcome.PUBLISHED
    assert len(sandbox_weibo.posts(UID)) == 1


async def test_a_5xx_after_the_post_was_kept_retries_into_a_duplicate_not_a_second_post(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    sandbox_weibo.arm("statuses/share", "http_500_after")

    failed = await adapter.publish(account(), variant(), "m12", {})
    retried = await adapter.publish(account(), variant(), "m12", {})
    confirmed = await adapter.confirm(account(), "m12", retried.progress)

    assert failed.outcome is Outcome.RETRY and failed.status_code == 500
    assert retried.outcome is Outcome.DUPLICATE
    [post] = sandbox_weibo.posts(UID)
    assert confirmed.outcome is Outcome.PUBLISHED and confirmed.platform_post_id == post["idstr"]


async def test_an_expired_token_is_config_and_nothing_is_posted(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    assert (await adapter.verify(account())).outcome is Outcome.STEP_DONE
    sandbox_weibo.arm("*", "token_expired")

    posted = await adapter.publish(account(), variant(), "m8", {})
    checked = await adapter.verify(account(2, "5000000002"))

    assert posted.outcome is Outcome.CONFIG and posted.error_code == "21327"
    assert checked.outcome is Outcome.CONFIG and checked.error_code == "21327"
    assert sandbox_weibo.state()["counts"]["posts"] == 0
    sandbox_weibo.reauthorise()
    assert (await adapter.publish(account(), variant(), "m8", {})).outcome is Outcome.PUBLISHED


async def test_verify_checks_the_token_belongs_to_the_account(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    good = await adapter.verify(account())
    wrong_token = await adapter.verify(
        AccountAccess("x", "weibo", UID, "weibodemoapp", {"access_token": "nope"})
    )
    someone_else = await adapter.verify(account(2, UID))

    assert good.outcome is Outcome.STEP_DONE and good.progress == {"uid": UID}
    assert wrong_token.outcome is Outcome.CONFIG and wrong_token.error_code == "21332"
    assert someone_else.outcome is Outcome.CONFIG and someone_else.error_code == "uid_mismatch"


async def test_retract_deletes_the_post_and_again_is_still_removed(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    posted = await adapter.publish(account(), variant(), "m9", {})

    removed = await adapter.retract(account(), posted.progress)
    again = await adapter.retract(account(), posted.progress)

    assert removed.outcome is Outcome.REMOVED and removed.status_code == 200
    assert removed.platform_post_id == posted.platform_post_id
    [post] = sandbox_weibo.posts(UID)
    assert post["deleted"] and sandbox_weibo.state()["counts"]["deleted"] == 1
    assert again.outcome is Outcome.REMOVED and json.loads(again.response)["error_code"] == 20101
    assert (await adapter.confirm(account(), "m9", {})).outcome is Outcome.ABSENT


async def test_retract_of_an_unconfirmed_post_finds_it_by_marker(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    sandbox_weibo.arm("statuses/share", "drop_after")
    sent = await adapter.publish(account(), variant(), "m10", {})
    assert sent.outcome is Outcome.UNKNOWN

    removed = await adapter.retract(account(), sent.progress)

    assert removed.outcome is Outcome.REMOVED
    [post] = sandbox_weibo.posts(UID)
    assert post["deleted"] and removed.platform_post_id == post["idstr"]


async def test_the_sandbox_page_shows_each_account_in_chinese(
    adapter: WeiboAdapter, sandbox_weibo: WeiboSandbox
) -> None:
    posted = await adapter.publish(account(), variant(), "m11", {})
    await adapter.retract(account(), posted.progress)

    page = await adapter.client.get(sandbox_weibo.base_url + "/")

    assert page.status_code == 200 and "charset=utf-8" in page.headers["content-type"]
    assert "四川发布微博" in page.text and "成都发布微博" in page.text
    assert "全省春季森林防火工作电视电话会议召开" in page.text and "已删除" in page.text
