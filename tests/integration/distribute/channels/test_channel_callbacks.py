"""WeChat's PUBLISHJOBFINISH push wakes the read-back of its post at once; the push itself is
never taken as the outcome, and an unsigned, stale, forged or malformed one changes nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from common.columns import as_utc
from common.events import utcnow
from kitchen.sandboxes.wechat import signed_query
from services.distribute.channels.contract import Outcome, StepResult
from tests.integration.distribute.channels.conftest import Channels
from tests.integration.distribute.conftest import ingested

WX1 = "wxdemo0000000001"
TOKEN = "demo-callback-token-1"  # kitchen/sandboxes/demo.py
PATH = f"/api/v1/channels/wechat/{WX1}/callback"


def notice(publish_id: str, to_user: str = WX1) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><CreateTime>{int(time.time())}"
        "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]>"
        f"</Event><PublishEventInfo><publish_id>{publish_id}</publish_id><publish_status>0"
        "</publish_status></PublishEventInfo></xml>"
    ).encode()


async def accepted_post(channels: Channels) -> str:
    """An item whose WeChat submit on WX1 was accepted (publishing): its delivery id."""
    accepted = StepResult(
        Outcome.ACCEPTED, progress={"publish_id": "2247483647"}, stage="submitted"
    )
    channels.wechat.answer("publish", "submit", accepted, account=WX1)
    await channels.distribute.publish(ingested("c1", columns=["news"]))
    await channels.drain()
    delivery = (await channels.deliveries("c1"))[WX1]
    assert delivery.state == "confirming"
    return delivery.id


async def post(channels: Channels, body: bytes, params: dict[str, str]) -> httpx.Response:
    return await channels.distribute.client.post(PATH, content=body, params=params)


async def test_a_signed_push_makes_the_read_back_due_and_the_read_back_decides(
    channels: Channels,
) -> None:
    delivery_id = await accepted_post(channels)
    due = (await channels.deliveries("c1"))[WX1].next_attempt_at
    assert due is not None and as_utc(due) > utcnow() + timedelta(
        seconds=1
    )  # the next poll is later

    response = await post(channels, notice("2247483647"), signed_query(TOKEN))
    assert response.status_code == 200 and response.text == "success"
    woken = (await channels.deliveries("c1"))[WX1]
    assert (
        woken.state == "confirming" and as_utc(woken.next_attempt_at) <= utcnow()
    )  # read back now

    confirms = len(channels.wechat.made("confirm", account=WX1))
    channels.wechat.answer("confirm", "", channels.wechat.live("mk"), account=WX1)
    await channels.step()
    assert len(channels.wechat.made("confirm", account=WX1)) == confirms + 1
    assert (await channels.deliveries("c1"))[WX1].state == "delivered"
    assert (await channels.post(delivery_id)).platform_post_id == "a-mk"


async def test_a_push_that_is_not_signed_right_changes_nothing(channels: Channels) -> None:
    await accepted_post(channels)
    due = (await channels.deliveries("c1"))[WX1].next_attempt_at
    stale = signed_query(TOKEN) | {"timestamp": str(int(time.time()) - 3600)}
    forged = signed_query("not-the-token")
    cases = [
        (notice("2247483647"), forged, 403, "signature"),
        (notice("2247483647"), stale, 403, "timestamp"),
        (notice("2247483647"), {}, 403, "signature"),  # no signature at all
        (b"<xml><unclosed>", signed_query(TOKEN), 422, "body"),
        (
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>',
            signed_query(TOKEN),
            422,
            "body",
        ),
    ]
    for body, params, status, field in cases:
        response = await post(channels, body, params)
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert field in response.text
    unknown = await channels.distribute.client.post(
        "/api/v1/channels/wechat/wxnobody/callback", content=notice("1"), params=signed_query(TOKEN)
    )
    assert unknown.status_code == 404
    assert (await channels.deliveries("c1"))[WX1].next_attempt_at == due  # nothing woken


async def test_the_url_check_echoes_only_to_a_signed_request(channels: Channels) -> None:
    ok = await channels.distribute.client.get(
        PATH, params=signed_query(TOKEN) | {"echostr": "e-42"}
    )
    assert ok.status_code == 200 and ok.text == "e-42"
    forged = signed_query("wrong") | {"echostr": "e-42"}
    refused = await channels.distribute.client.get(PATH, params=forged)
    assert refused.status_code == 403 and "e-42" not in refused.text
