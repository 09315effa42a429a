"""The Weibo adapter's error classes, over `httpx.MockTransport`: every documented code, HTTP
status and transport failure maps to the outcome the job acts on, with the evidence kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.distribute.channels.contract import RESPONSE_LIMIT, AccountAccess, Outcome
from services.distribute.clients.weibo import WeiboAdapter, next_hour, retry_after

ACCOUNT = AccountAccess("a1", "weibo", "5000000001", "app", {"access_token": "t"}, "gov.cn")
VARIANT: dict[str, Any] = {
    "teaser": "【标题】",
    "link": "https://www.sc.gov.cn/a.html",
    "picture": None,
}
Handler = Callable[[httpx.Request], httpx.Response]


def adapter(handler: Handler) -> WeiboAdapter:
    return WeiboAdapter(httpx.AsyncClient(transport=httpx.MockTransport(handler)), "https://w")


def error(code: int, status: int = 400, **headers: str) -> Handler:
    body = {"request": "/2/statuses/share.json", "error_code": code, "error": "x"}
    return lambda request: httpx.Response(status, json=body, headers=headers)


def raises(exception: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    return handler


CLASSES = {
    Outcome.RETRY: (10001, 10002, 10003, 10009, 10011),
    Outcome.PARK: (10022, 10023, 10024, 20016),
    Outcome.DUPLICATE: (20019, 20111, 20017),
    Outcome.EDIT: (20012, 20005, 20006, 20007),
    Outcome.CONFIG: (10006, 10014, 10017, 21327, 21332),
}


@pytest.mark.parametrize(
    ("code", "outcome"), [(c, o) for o, codes in CLASSES.items() for c in codes]
)
async def test_each_error_code_has_its_class(code: int, outcome: Outcome) -> None:
    result = await adapter(error(code)).publish(ACCOUNT, VARIANT, "m1", {})

    assert result.outcome is outcome
    assert result.error_code == str(code) and result.status_code == 400
    assert f'"error_code":{code}' in result.response


@pytest.mark.parametrize("code", CLASSES[Outcome.PARK])
async def test_a_parked_post_waits_for_the_top_of_the_next_hour(code: int) -> None:
    result = await adapter(error(code, 403)).publish(ACCOUNT, VARIANT, "m1", {})

    assert result.retry_after is not None
    assert abs(result.retry_after - next_hour(datetime.now(UTC))) < 2
    assert 0 < result.retry_after <= 3600


async def test_retry_after_is_honoured_when_given() -> None:
    result = await adapter(error(20016, 403, **{"Retry-After": "90"})).publish(
        ACCOUNT, VARIANT, "m1", {}
    )

    assert result.outcome is Outcome.PARK and result.retry_after == 90


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)

    assert retry_after("120", now) == 120
    assert retry_after("Wed, 02 Dec 2026 13:31:00 GMT", now) == 60
    assert retry_after("soon", now) is None and retry_after(None, now) is None
    assert next_hour(now) == 1800


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_http_5xx_without_a_code_retries(status: int) -> None:
    page = "<html>Service Unavailable</html>"
    result = await adapter(lambda request: httpx.Response(status, text=page)).publish(
        ACCOUNT, VARIANT, "m1", {}
    )

    assert result.outcome is Outcome.RETRY and result.error_code == f"http_{status}"
    assert result.response == page and result.status_code == status


async def test_an_unknown_refusal_needs_an_operator() -> None:
    result = await adapter(error(10008)).publish(ACCOUNT, VARIANT, "m1", {})

    assert result.outcome is Outcome.CONFIG


async def test_the_answer_kept_is_cut_to_the_limit() -> None:
    body = {"error_code": 10001, "error": "x" * 5000}
    result = await adapter(lambda request: httpx.Response(500, json=body)).publish(
        ACCOUNT, VARIANT, "m1", {}
    )

    assert len(result.response) == RESPONSE_LIMIT


@pytest.mark.parametrize(
    ("exception", "outcome"),
    [
        (httpx.ReadTimeout("late"), Outcome.UNKNOWN),
        (httpx.RemoteProtocolError("dropped"), Outcome.UNKNOWN),
        (httpx.WriteTimeout("half sent"), Outcome.UNKNOWN),
        (httpx.ConnectError("refused"), Outcome.RETRY),
        (httpx.ConnectTimeout("no route"), Outcome.RETRY),
    ],
)
async def test_a_share_lost_after_sending_is_unknown_but_one_never_sent_retries(
    exception: Exception, outcome: Outcome
) -> None:
    result = await adapter(raises(exception)).publish(ACCOUNT, VARIANT, "m1", {})

    assert result.outcome is outcome
    assert result.status_code is None and result.progress["marker"] == "m1"


async def test_a_timeout_reading_back_retries_the_read() -> None:
    result = await adapter(raises(httpx.ReadTimeout("late"))).confirm(ACCOUNT, "m1", {})

    assert result.outcome is Outcome.RETRY


async def test_an_accepted_answer_without_idstr_is_unknown() -> None:
    answer = {"id": 2**53 + 1, "text": "x"}
    result = await adapter(lambda request: httpx.Response(200, json=answer)).publish(
        ACCOUNT, VARIANT, "m1", {}
    )

    assert result.outcome is Outcome.UNKNOWN


async def test_the_posted_status_carries_teaser_link_and_marker() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 1, "idstr": "1", "user": {"idstr": "5000000001"}})

    result = await adapter(handler).publish(ACCOUNT, VARIANT, "m1", {})

    [request] = seen
    form = httpx.QueryParams(request.content.decode())
    assert form["status"] == "【标题】 https://www.sc.gov.cn/a.html?k=m1"
    assert form["access_token"] == "t" and "rip" not in form
    assert result.outcome is Outcome.PUBLISHED and result.platform_post_id == "1"


async def test_retract_of_a_post_already_gone_is_removed() -> None:
    result = await adapter(error(20101)).retract(ACCOUNT, {"idstr": "9007199254740993"})

    assert result.outcome is Outcome.REMOVED and result.stage == "removed"


@pytest.mark.parametrize(
    ("content", "kind", "note"),
    [
        (b"\x89PNG" + b"\0" * (5 * 1024 * 1024), "image/png", "omitted: 5 MB or more"),
        (b"<html></html>", "text/html", "omitted: text/html"),
        (b"\x89PNG\r\n", "image/png; charset=binary", "attached"),
    ],
)
async def test_a_picture_too_large_or_not_an_image_is_left_out(
    content: bytes, kind: str, note: str
) -> None:
    shared: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/pic":
            return httpx.Response(200, content=content, headers={"content-type": kind})
        shared.append(request)
        return httpx.Response(200, json={"id": 1, "idstr": "1"})

    with_picture = VARIANT | {"picture": "https://www.sc.gov.cn/pic"}
    result = await adapter(handler).publish(ACCOUNT, with_picture, "m1", {})

    [request] = shared
    assert result.outcome is Outcome.PUBLISHED and result.progress["picture"] == note
    assert (b'name="pic"' in request.content) is (note == "attached")
    assert ("配图" in result.error) is (note != "attached")
