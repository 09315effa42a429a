"""The WeChat adapter's error classes, over a mock transport: every errcode the platform
documents lands in its class; network trouble is RETRY, or UNKNOWN once a submit may be sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.distribute.channels.contract import AccountAccess, Outcome
from services.distribute.clients.wechat import (
    DEFAULT_COVER,
    WechatAdapter,
    rehost,
    seconds_to_midnight,
    with_marker,
)

ACCOUNT = AccountAccess("acc1", "wechat", "wx1", "wx1", {"appid": "wx1", "secret": "s"})
VARIANT: dict[str, Any] = {
    "title": "标题",
    "author": "",
    "digest": "",
    "content": '<p>正文</p><img src="https://img.sc.gov.cn/a.png?x=1&amp;y=2">',
    "content_source_url": "https://www.sc.gov.cn/a.html?from=feed",
    "images": ["https://img.sc.gov.cn/a.png?x=1&y=2"],
    "cover": None,
}
READY = {"images": {"https://img.sc.gov.cn/a.png?x=1&y=2": "https://mmbiz/x.png"}}
Handler = Callable[[httpx.Request], httpx.Response]


class Platform:
    """Answers the token call, and `answer` for every other call; records the calls."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.headers.get("content-type") == (
            "application/json"
        ) else {}  # fmt: skip
        self.calls.append((request.url.path, body))
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(
                200, json={"access_token": f"T{len(self.calls)}", "expires_in": 7200}
            )
        return self.answer(request)

    def paths(self, path: str) -> list[dict[str, Any]]:
        return [body for called, body in self.calls if called == path]


def errcode(code: int) -> Handler:
    return lambda request: httpx.Response(200, json={"errcode": code, "errmsg": "x"})


def adapter(platform: Platform) -> WechatAdapter:
    client = httpx.AsyncClient(transport=httpx.MockTransport(platform))
    return WechatAdapter(client, "https://api.weixin.qq.com")


CLASSES = {
    -1: Outcome.RETRY, -1000: Outcome.RETRY, 45011: Outcome.RETRY, 53501: Outcome.RETRY,
    45009: Outcome.PARK, 45028: Outcome.PARK,
    45166: Outcome.EDIT, 87014: Outcome.EDIT, 53503: Outcome.EDIT,
    40164: Outcome.CONFIG, 48001: Outcome.CONFIG, 48004: Outcome.CONFIG, 53500: Outcome.CONFIG,
    40005: Outcome.EDIT, 40006: Outcome.EDIT, 40009: Outcome.EDIT, 45001: Outcome.EDIT,
}  # fmt: skip


@pytest.mark.parametrize(("code", "outcome"), sorted(CLASSES.items()))
async def test_each_errcode_has_its_class(code: int, outcome: Outcome) -> None:
    platform = Platform(errcode(code))
    result = await adapter(platform).publish(
        ACCOUNT, VARIANT, "m1", READY | {"thumb_media_id": "t"}
    )
    assert result.outcome is outcome and result.error_code == str(code)
    assert json.loads(result.response)["errcode"] == code and result.status_code == 200
    assert len(platform.paths("/cgi-bin/draft/add")) == 1  # never retried by the adapter itself
    if code == 45011:
        assert result.retry_after == 60
    if outcome is Outcome.PARK:
        assert result.retry_after is not None and 0 < result.retry_after <= 86400


async def test_a_media_error_names_the_picture() -> None:
    platform = Platform(
        lambda request: (
            httpx.Response(200, content=b"\x89PNG....")
            if request.url.host == "img.sc.gov.cn"
            else httpx.Response(200, json={"errcode": 40009, "errmsg": "invalid image size"})
        )
    )
    result = await adapter(platform).publish(ACCOUNT, VARIANT, "m1", {})
    assert result.outcome is Outcome.EDIT and "https://img.sc.gov.cn/a.png" in result.error


@pytest.mark.parametrize("code", [40001, 40014, 42001])
async def test_a_refused_token_is_refreshed_once_then_the_call_sent_once_more(code: int) -> None:
    platform = Platform(errcode(code))
    result = await adapter(platform).publish(
        ACCOUNT, VARIANT, "m1", READY | {"thumb_media_id": "t"}
    )
    assert result.outcome is Outcome.RETRY
    tokens = platform.paths("/cgi-bin/stable_token")
    assert [t["force_refresh"] for t in tokens] == [False, True]
    assert len(platform.paths("/cgi-bin/draft/add")) == 2


async def test_a_submit_whose_answer_is_lost_is_unknown() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    done = READY | {"thumb_media_id": "t", "media_id": "d"}
    result = await adapter(Platform(timeout)).publish(ACCOUNT, VARIANT, "m1", done)
    assert result.outcome is Outcome.UNKNOWN and result.error_code == "network"
    unsent = adapter(Platform(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused"))))
    assert (await unsent.publish(ACCOUNT, VARIANT, "m1", done)).outcome is Outcome.RETRY


async def test_server_errors_retry_a_preparatory_step_and_leave_a_submit_unknown() -> None:
    platform = Platform(lambda request: httpx.Response(502, text="bad gateway"))
    ready = READY | {"thumb_media_id": "t"}
    draft = await adapter(platform).publish(ACCOUNT, VARIANT, "m1", ready)
    assert draft.outcome is Outcome.RETRY and draft.status_code == 502
    submit = await adapter(platform).publish(ACCOUNT, VARIANT, "m1", ready | {"media_id": "d"})
    assert submit.outcome is Outcome.UNKNOWN


async def test_the_draft_carries_the_marker_and_the_rehosted_pictures() -> None:
    platform = Platform(lambda request: httpx.Response(200, json={"media_id": "D1"}))
    result = await adapter(platform).publish(
        ACCOUNT, VARIANT, "m42", READY | {"thumb_media_id": "t"}
    )
    assert result.outcome is Outcome.STEP_DONE and result.progress == {"media_id": "D1"}
    [body] = platform.paths("/cgi-bin/draft/add")
    [article] = body["articles"]
    assert article["content_source_url"] == "https://www.sc.gov.cn/a.html?from=feed&k=m42"
    assert article["content"] == '<p>正文</p><img src="https://mmbiz/x.png">'
    assert article["thumb_media_id"] == "t"


async def test_without_a_cover_the_default_one_is_uploaded_once_per_account() -> None:
    platform = Platform(lambda request: httpx.Response(200, json={"media_id": "M1", "url": "u"}))
    made = adapter(platform)
    for _ in range(2):
        result = await made.publish(ACCOUNT, VARIANT, "m1", READY)
        assert result.outcome is Outcome.STEP_DONE and result.progress["thumb_media_id"] == "M1"
    assert len(platform.paths("/cgi-bin/material/add_material")) == 1
    assert DEFAULT_COVER.startswith(b"\x89PNG")


def test_helpers() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert seconds_to_midnight(datetime(2026, 3, 1, 23, 59, 30, tzinfo=shanghai)) == 30
    assert with_marker("https://a/b?k=old&x=1", "new") == "https://a/b?x=1&k=new"
    assert (
        rehost('<img alt="a" src="s">', {"s": "h?a=1&b=2"}) == '<img alt="a" src="h?a=1&amp;b=2">'
    )


async def test_a_delete_refused_for_an_article_already_gone_is_removed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/delete"):
            return httpx.Response(200, json={"errcode": 53600, "errmsg": "invalid article_id"})
        return httpx.Response(200, json={"publish_id": "p1", "publish_status": 5})

    gone = await adapter(Platform(answer)).retract(
        ACCOUNT, {"publish_id": "p1", "article_id": "a1"}
    )
    assert gone.outcome is Outcome.REMOVED and gone.stage == "removed"
    unsure = await adapter(Platform(answer)).retract(ACCOUNT, {"article_id": "a1"})
    assert unsure.outcome is Outcome.RETRY and unsure.error_code == "53600"
