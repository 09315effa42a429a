"""The Weibo sandbox's own rules, as a client sees them: what it refuses with which code, and
what its state shows (in process, over ASGI: these need no held-back answers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kitchen.sandboxes.weibo import create_app
from tests.fixtures.sandbox_weibo import PICTURE, WEIBO_ACCOUNTS

TOKEN = {"access_token": "demo-weibo-token-1"}
LINK = "https://www.sc.gov.cn/a.html?k=m1"


@pytest.fixture
async def weibo() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(WEIBO_ACCOUNTS, app_posts_per_day=3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://weibo") as client:
        yield client


async def share(client: httpx.AsyncClient, status: str, **extra: Any) -> httpx.Response:
    return await client.post("/2/statuses/share.json", data={**TOKEN, "status": status}, **extra)


def code(response: httpx.Response) -> int:
    body = response.json()
    assert set(body) == {"request", "error_code", "error"}
    assert response.status_code >= 400
    return int(body["error_code"])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("长" * 120 + " " + LINK, 20012),  # 154 characters
        ("没有链接", 10017),
        ("链接不在安全域名 https://www.example.com/a.html", 10017),
        ("#春节#安全提示 " + LINK, 20021),
        ("", 10016),
    ],
)
async def test_a_status_it_refuses(weibo: httpx.AsyncClient, status: str, expected: int) -> None:
    assert code(await share(weibo, status)) == expected
    assert (await weibo.get("/_sandbox/state")).json()["counts"]["posts"] == 0


async def test_pictures_are_checked_by_their_bytes(weibo: httpx.AsyncClient) -> None:
    not_image = await share(weibo, "图 " + LINK, files={"pic": ("a.png", b"<html>", "image/png")})
    too_big = PICTURE + b"\0" * (5 * 1024 * 1024)
    large = await share(weibo, "图 " + LINK, files={"pic": ("a.png", too_big, "image/png")})
    good = await share(weibo, "图 " + LINK, files={"pic": ("a.png", PICTURE, "image/png")})

    assert (code(not_image), code(large)) == (20005, 20006)
    assert good.status_code == 200 and "original_pic" in good.json()


async def test_repeats_similar_texts_and_the_app_cap(weibo: httpx.AsyncClient) -> None:
    first = await share(weibo, "第一条 " + LINK)
    repeat = await share(weibo, "第一条 " + LINK)
    similar = await share(weibo, "第一条 https://www.sc.gov.cn/a.html?k=m2")
    await share(weibo, "第二条 " + LINK)
    await weibo.post(
        "/2/statuses/share.json",
        data={"access_token": "demo-weibo-token-2", "status": "第三条 " + LINK},
    )
    capped = await share(weibo, "第四条 " + LINK)

    assert first.status_code == 200
    assert (code(repeat), code(similar), code(capped)) == (20019, 20017, 10022)


async def test_timeline_destroy_and_state(weibo: httpx.AsyncClient) -> None:
    ids = [(await share(weibo, f"第{n}条 {LINK}")).json()["idstr"] for n in range(3)]
    other = await weibo.post(
        "/2/statuses/destroy.json", data={"access_token": "demo-weibo-token-2", "id": ids[0]}
    )
    gone = await weibo.post("/2/statuses/destroy.json", data={**TOKEN, "id": ids[1]})
    again = await weibo.post("/2/statuses/destroy.json", data={**TOKEN, "id": ids[1]})
    page = await weibo.get("/2/statuses/user_timeline.json", params={**TOKEN, "count": 1})
    second = await weibo.get(
        "/2/statuses/user_timeline.json", params={**TOKEN, "count": 1, "page": 2}
    )
    state = (await weibo.get("/_sandbox/state")).json()

    assert (code(other), code(again)) == (20102, 20101)
    assert gone.json()["idstr"] == ids[1]
    assert [s["idstr"] for s in page.json()["statuses"]] == [ids[2]]  # newest first
    assert [s["idstr"] for s in second.json()["statuses"]] == [ids[0]]  # the deleted one skipped
    posts = state["accounts"]["5000000001"]["posts"]
    assert [(p["idstr"], p["deleted"]) for p in posts] == [
        (ids[0], False),
        (ids[1], True),
        (ids[2], False),
    ]
    assert state["counts"] | {"calls": None} == {
        "posts": 3,
        "live": 2,
        "deleted": 1,
        "calls": None,
    }


async def test_an_unknown_fault_is_refused(weibo: httpx.AsyncClient) -> None:
    response = await weibo.post(
        "/_sandbox/faults", json={"endpoint": "statuses/share", "fault": "gremlins"}
    )

    assert response.status_code == 422


async def test_disarming_drops_what_is_armed_and_keeps_what_fired(
    weibo: httpx.AsyncClient,
) -> None:
    for fault in ("busy", "http_500"):
        armed = {"endpoint": "account/get_uid", "fault": fault, "times": 1}
        assert (await weibo.post("/_sandbox/faults", json=armed)).status_code == 200
    assert (await weibo.get("/2/account/get_uid.json", params=TOKEN)).status_code >= 400
    assert (await weibo.delete("/_sandbox/faults")).json() == {"disarmed": 1}
    assert (await weibo.get("/2/account/get_uid.json", params=TOKEN)).status_code == 200
    faults = (await weibo.get("/_sandbox/state")).json()["faults"]
    assert faults["armed"] == [] and len(faults["fired"]) == 1


async def test_get_uid_and_bad_tokens(weibo: httpx.AsyncClient) -> None:
    uid = await weibo.get("/2/account/get_uid.json", params=TOKEN)
    bad = await weibo.get("/2/account/get_uid.json", params={"access_token": "x"})

    assert uid.json() == {"uid": 5000000001}
    assert code(bad) == 21332
