"""The WeChat adapter against the WeChat sandbox over real HTTP: what lands on the account
(counted on the sandbox's side) for each way the platform answers or fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.distribute.channels.contract import AccountAccess, Outcome, StepResult
from services.distribute.channels.wechat_render import render_wechat
from services.distribute.clients.wechat import WechatAdapter, wechat_adapter
from services.distribute.models import ContentSnapshot
from services.distribute.settings import DistributeSettings
from tests.fixtures.sandbox_timing import ANSWER_TIMEOUT_SECONDS, HELD_ANSWER_SECONDS
from tests.fixtures.sandbox_wechat import WechatSandbox

APPID = "wxdemo0000000001"
ARTICLE = "https://www.sc.gov.cn/province/news/c0001.html"


def account(number: int = 1, secret: str | None = None) -> AccountAccess:
    appid = f"wxdemo000000000{number}"
    return AccountAccess(
        account_id=f"acc{number}",
        platform="wechat",
        platform_account_id=appid,
        app_id=appid,
        credentials={"appid": appid, "secret": secret or f"demo-wechat-secret-{number}"},
    )


def variant(
    sandbox: WechatSandbox, pictures: tuple[str, ...] = ("a.png", "b.jpg")
) -> dict[str, Any]:
    images = "".join(
        f'<p><img src="{sandbox.picture_url(name)}" alt="图{name}"></p>' for name in pictures
    )
    snapshot = ContentSnapshot(
        content_id="c0001",
        version=1,
        content_hash="0" * 64,
        title="全省春季森林防火工作电视电话会议召开",
        body_html=f"<p>会议要求，各地要压紧压实防火责任。</p>{images}<script>alert(1)</script>",
        body_text="会议要求，各地要压紧压实防火责任。",
        kind="news",
        site="province",
        columns=["province/news"],
        publisher="省应急管理厅",
    )
    rendered = render_wechat(snapshot, ARTICLE)
    assert not rendered.findings
    return rendered.body


@pytest.fixture
async def adapter(sandbox_wechat: WechatSandbox) -> AsyncIterator[WechatAdapter]:
    settings = DistributeSettings(
        wechat_api_url=sandbox_wechat.base_url,
        outbound_allow=["127.0.0.1"],  # the sandbox runs on this machine
        channel_timeout_seconds=ANSWER_TIMEOUT_SECONDS,
    )
    made = wechat_adapter(settings)
    try:
        yield made
    finally:
        await made.aclose()


async def drive(
    adapter: WechatAdapter, variant: dict[str, Any], marker: str, progress: dict[str, Any]
) -> StepResult:
    """What the job does: publish step by step, keeping each step's progress, until a step
    ends otherwise than STEP_DONE."""
    for _ in range(10):
        result = await adapter.publish(account(), variant, marker, progress)
        assert result.duration_ms >= 0
        progress.update(result.progress)
        if result.outcome is not Outcome.STEP_DONE:
            return result
    raise AssertionError("the steps never ended")


async def confirmed(adapter: WechatAdapter, marker: str, progress: dict[str, Any]) -> StepResult:
    deadline = time.monotonic() + 5
    while True:
        result = await adapter.confirm(account(), marker, progress)
        # still publishing, or a transient error (the pooled connection a dropped answer left
        # behind can fail once): the job reads back again later, and so does this
        waiting = result.outcome in (Outcome.ACCEPTED, Outcome.RETRY)
        if not waiting or time.monotonic() > deadline:
            progress.update(result.progress)
            return result
        await asyncio.sleep(0.1)


async def test_a_post_goes_out_once_with_its_images_rehosted_and_comes_down(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat), dict[str, Any]()
    assert adapter.next_step(body, progress) == "uploadimg"
    accepted = await drive(adapter, body, "m0000000001", progress)
    assert accepted.outcome is Outcome.ACCEPTED and accepted.stage == "submitted"
    assert progress["publish_id"] and set(progress["images"]) == set(body["images"])

    done = await confirmed(adapter, "m0000000001", progress)
    assert done.outcome is Outcome.PUBLISHED, done
    [article] = sandbox_wechat.account(APPID)["articles"]
    assert done.platform_post_id == article["article_id"] and done.post_url == article["url"]
    assert parse_qs(urlsplit(article["content_source_url"]).query)["k"] == ["m0000000001"]
    assert article["content_source_url"].startswith(ARTICLE)
    # every picture is the sandbox's re-hosted copy, none was stripped, the script is gone
    for hosted in progress["images"].values():
        assert f'src="{hosted}"' in article["content"]
    assert "/_sandbox/sample/" not in article["content"] and "<script" not in article["content"]
    state = sandbox_wechat.account(APPID)
    assert state["stripped_images"] == 0
    assert state["counts"]["submit"] == 1 and state["counts"]["uploadimg"] == 2
    async with httpx.AsyncClient() as client:
        page = await client.get(done.post_url)
    assert page.status_code == 200 and "全省春季森林防火" in page.text

    removed = await adapter.retract(account(), progress)
    assert removed.outcome is Outcome.REMOVED and removed.stage == "removed"
    assert sandbox_wechat.account(APPID)["articles"][0]["status"] == 5
    assert (await adapter.retract(account(), progress)).outcome is Outcome.REMOVED  # already gone
    assert (await adapter.confirm(account(), "m0000000001", progress)).outcome is Outcome.REMOVED


async def test_a_token_that_expires_mid_run_is_refreshed_once_and_the_post_goes_once(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat), dict[str, Any]()
    first = await adapter.publish(account(), body, "m2", progress)
    assert first.outcome is Outcome.STEP_DONE, first  # one token so far
    progress.update(first.progress)
    sandbox_wechat.arm("draft/add", "token_expired")  # every token stops working there
    assert (await drive(adapter, body, "m2", progress)).outcome is Outcome.ACCEPTED
    assert (await confirmed(adapter, "m2", progress)).outcome is Outcome.PUBLISHED
    state = sandbox_wechat.account(APPID)
    assert state["counts"]["force_refresh"] == 1 and state["counts"]["stable_token"] == 2
    assert state["counts"]["draft"] == 1 and state["counts"]["submit"] == 1
    assert len(state["articles"]) == 1


async def test_busy_is_retried_then_the_post_goes_once(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat, ()), dict[str, Any]()
    sandbox_wechat.arm("freepublish/submit", "busy")
    busy = await drive(adapter, body, "m3", progress)
    assert (
        busy.outcome is Outcome.RETRY
        and busy.error_code == "-1"
        and '"errcode":-1' in busy.response
    )
    assert "publish_id" not in progress
    assert (await drive(adapter, body, "m3", progress)).outcome is Outcome.ACCEPTED
    assert (await confirmed(adapter, "m3", progress)).outcome is Outcome.PUBLISHED
    state = sandbox_wechat.account(APPID)
    assert state["counts"]["submit"] == 1 and len(state["articles"]) == 1


async def test_a_lost_answer_to_submit_is_unknown_and_found_again_by_its_marker(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat, ("a.png",)), dict[str, Any]()
    sandbox_wechat.arm("freepublish/submit", "timeout_after", delay=HELD_ANSWER_SECONDS)
    lost = await drive(adapter, body, "m4", progress)
    assert lost.outcome is Outcome.UNKNOWN and "publish_id" not in progress
    # a blind resend would not make a second article: the draft has left the draft box
    again = await adapter.publish(account(), body, "m4", progress)
    assert again.outcome is Outcome.DUPLICATE
    found = await confirmed(adapter, "m4", progress)
    assert found.outcome is Outcome.PUBLISHED, found
    [article] = sandbox_wechat.account(APPID)["articles"]
    assert found.platform_post_id == article["article_id"]
    assert sandbox_wechat.account(APPID)["counts"]["submit"] == 1


async def test_a_connection_dropped_after_submit_is_unknown_and_found_again(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat, ()), dict[str, Any]()
    sandbox_wechat.arm("freepublish/submit", "drop_after")
    lost = await drive(adapter, body, "m14", progress)
    assert lost.outcome is Outcome.UNKNOWN and lost.error_code == "network"
    assert (await confirmed(adapter, "m14", progress)).outcome is Outcome.PUBLISHED
    state = sandbox_wechat.account(APPID)
    assert state["counts"]["submit"] == 1 and len(state["articles"]) == 1


async def test_confirm_without_a_draft_or_post_is_absent(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    assert (await adapter.confirm(account(), "m5", {})).outcome is Outcome.ABSENT
    body, progress = variant(sandbox_wechat, ()), dict[str, Any]()
    sandbox_wechat.arm("freepublish/submit", "http_500")
    failed = await drive(adapter, body, "m5", progress)
    assert failed.outcome is Outcome.UNKNOWN and failed.status_code == 500
    # the draft is still in the box: nothing went out, sending is safe
    assert (await adapter.confirm(account(), "m5", progress)).outcome is Outcome.ABSENT


async def test_daily_quota_parks_until_midnight_in_beijing(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat, ()), dict[str, Any]()
    sandbox_wechat.arm("freepublish/submit", "quota")
    parked = await drive(adapter, body, "m6", progress)
    assert parked.outcome is Outcome.PARK and parked.error_code == "45009"
    assert parked.retry_after is not None and 0 < parked.retry_after <= 86400
    assert sandbox_wechat.account(APPID)["articles"] == []


async def test_per_minute_limit_waits_a_minute(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    sandbox_wechat.arm("draft/add", "rate_limit")
    limited = await drive(adapter, variant(sandbox_wechat, ()), "m7", {})
    assert limited.outcome is Outcome.RETRY and limited.retry_after == 60


async def test_risky_content_goes_back_to_the_editors(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    sandbox_wechat.arm("draft/add", "content_risk")
    risky = await drive(adapter, variant(sandbox_wechat, ()), "m8", {})
    assert risky.outcome is Outcome.EDIT and risky.error_code == "87014"
    assert sandbox_wechat.account(APPID)["counts"].get("draft", 0) == 0


async def test_a_job_the_platform_rejects_fails(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    body, progress = variant(sandbox_wechat, ()), dict[str, Any]()
    sandbox_wechat.arm("freepublish/submit", "publish_end", status=4)
    assert (await drive(adapter, body, "m9", progress)).outcome is Outcome.ACCEPTED
    failed = await confirmed(adapter, "m9", progress)
    assert failed.outcome is Outcome.FAILED and failed.error_code == "publish_status_4"


async def test_a_picture_over_1_mb_is_for_the_editors_naming_it(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    big = await drive(adapter, variant(sandbox_wechat, ("big.png",)), "m10", {})
    assert big.outcome is Outcome.EDIT and big.error_code == "40009"
    assert "big.png" in big.error


async def test_an_item_without_pictures_gets_the_default_cover_once_per_account(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    for marker in ("m11", "m12"):
        progress: dict[str, Any] = {}
        assert (await drive(adapter, variant(sandbox_wechat, ()), marker, progress)).outcome is (
            Outcome.ACCEPTED
        )
    state = sandbox_wechat.account(APPID)
    assert state["counts"]["add_material"] == 1 and state["counts"]["submit"] == 2


async def test_credentials_are_checked(
    adapter: WechatAdapter, sandbox_wechat: WechatSandbox
) -> None:
    good = await adapter.verify(account())
    assert good.outcome is Outcome.STEP_DONE and "access_token" not in good.response
    refused = await adapter.verify(account(2, secret="wrong"))
    assert refused.outcome is Outcome.CONFIG and refused.error_code == "40125"
    posting = await adapter.publish(account(2, secret="wrong"), variant(sandbox_wechat), "m13", {})
    assert posting.outcome is Outcome.CONFIG
    assert sandbox_wechat.account("wxdemo0000000002")["counts"].get("uploadimg", 0) == 0
