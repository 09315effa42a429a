"""Per-outlet evidence: after a portal + webhook publication and a retraction, each outlet says
what it holds, with the publication's and the takedown's state, time and the receiver's answer."""

from __future__ import annotations

from typing import Any

from common.events import ContentRetractionRequested, utcnow
from common.testing import staff
from services.distribute.models import ChannelAccount, ChannelPost, DeliveryAttempt
from services.distribute.publishing import new_delivery
from services.distribute.schemas import OutletsPublic
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    ingested,
)

CITY_EDITOR = staff("city-editor", ("editor",), sites=["city"])


async def outlets(distribute: Distribute, content_id: str) -> dict[str, Any]:
    answer = await distribute.client.get(f"/api/v1/deliveries/outlets/{content_id}", headers=EDITOR)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    OutletsPublic.model_validate(body)  # the bytes fit the documented model exactly
    return body


def by_target(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["target"]: row for row in body["outlets"]}


async def test_each_outlet_shows_its_publication_and_takedown(
    distribute: Distribute, receiver: Receiver
) -> None:
    endpoint = {"url": receiver.url, "secret": SECRET, "description": "政务App"}
    created = await distribute.client.post(
        "/api/v1/webhook-endpoints", json=endpoint, headers=ADMIN
    )
    hook = f"webhook:{created.json()['id']}"
    receiver.statuses = [204, 400]  # the publication is taken, the takedown refused
    await distribute.publish(ingested("c1", columns=["notices", "news"]))
    await distribute.dispatch()

    live = await outlets(distribute, "c1")
    assert live["site"] == "province" and live["retraction"] is None
    rows = by_target(live)
    assert list(rows) == ["portal:province/news", "portal:province/notices", hook]
    notices = rows["portal:province/notices"]
    assert notices["name"] == "四川省人民政府 · 通知公告" and notices["state"] == "live"
    assert notices["post_url"].startswith("https://www.sc.gov.cn/")
    assert notices["feeds"] == [f"/feeds/province/notices.{f}" for f in ("rss", "atom", "json")]
    assert notices["publication"]["state"] == "delivered" and notices["publication"]["at"]
    assert notices["takedown"] is None
    webhook = rows[hook]
    assert webhook["name"] == "政务App" and webhook["state"] == "live"
    assert webhook["publication"]["status_code"] == 204 and webhook["post_url"] is None

    await distribute.handle(
        ContentRetractionRequested(content_id="c1", reason="数据有误", requested_by="editor")
    )
    await distribute.dispatch()
    gone = await outlets(distribute, "c1")
    assert gone["retraction"]["reason"] == "数据有误"
    assert gone["retraction"]["requested_by"] == "editor"
    rows = by_target(gone)
    for column in ("news", "notices"):
        portal = rows[f"portal:province/{column}"]
        assert portal["state"] == "removed", portal
        assert portal["takedown"]["state"] == "delivered" and portal["takedown"]["at"]
        assert portal["publication"]["state"] == "delivered"  # what went out stays on record
    refused = rows[hook]
    assert refused["state"] == "takedown_failed"
    assert refused["takedown"]["status_code"] == 400 and refused["takedown"]["attempts"] == 1
    assert refused["takedown"]["error"]
    # what the receiver got: the publication, then the takedown it refused
    assert [r["payload"]["type"] for r in receiver.received] == [
        "content.published",
        "content.retracted",
    ]


async def test_outlets_are_seen_within_the_callers_sites(
    distribute: Distribute, receiver: Receiver
) -> None:
    await distribute.publish(ingested("c1"))
    path = "/api/v1/deliveries/outlets/c1"
    assert (await distribute.client.get(path, headers=CITY_EDITOR)).status_code == 404
    assert (await distribute.client.get(path)).status_code == 401
    unknown = await distribute.client.get("/api/v1/deliveries/outlets/nope", headers=EDITOR)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "content_id"
    town = await outlets(distribute, "c1")
    assert [row["state"] for row in town["outlets"]] == ["live"]


async def test_new_media_accounts_show_the_post_and_the_platforms_answer(
    distribute: Distribute,
) -> None:
    """A WeChat post as the channel worker records it (rows written here directly): the
    account's name, the article URL and id, the takedown with the platform's JSON answer."""
    await distribute.publish(ingested("c1"))
    now = utcnow()
    publication = new_delivery(("c1", 1, "hash-c1-1"), "wechat:acc1", "delivered", now)
    publication.channel, publication.account_id, publication.delivered_at = "wechat", "acc1", now
    takedown = new_delivery(
        ("c1", 1, "hash-c1-1"), "wechat:acc1", "delivered", now, action="retract"
    )
    takedown.channel, takedown.account_id, takedown.attempts = "wechat", "acc1", 1
    takedown.delivered_at = now
    answer = '{"errcode":0,"errmsg":"ok"}'
    async with distribute.app.state.db.sessions() as session:
        session.add(
            ChannelAccount(
                id="acc1", platform="wechat", name="四川发布", platform_account_id="wx1",
                app_id="wx1", unit="省政府办公厅", credentials="fernet:x", created_at=now,
                updated_at=now,
            )
        )  # fmt: skip
        session.add_all([publication, takedown])
        session.add(
            ChannelPost(
                delivery_id=publication.id, account_id="acc1", platform="wechat",
                variant_hash="v", marker="m1", stage="removed",
                post_url="https://mp.weixin.qq.com/s/abc", platform_post_id="article-1",
                updated_at=now,
            )
        )  # fmt: skip
        session.add(
            DeliveryAttempt(
                delivery_id=takedown.id, number=1, outcome="delivered", status_code=200,
                response=answer, at=now,
            )
        )  # fmt: skip
        await session.commit()

    rows = by_target(await outlets(distribute, "c1"))
    assert list(rows) == ["portal:province/notices", "wechat:acc1"]
    wechat = rows["wechat:acc1"]
    assert wechat["name"] == "四川发布" and wechat["account_id"] == "acc1"
    assert wechat["state"] == "removed" and wechat["feeds"] == []
    assert wechat["post_url"] == "https://mp.weixin.qq.com/s/abc"
    assert wechat["platform_post_id"] == "article-1"
    assert wechat["takedown"]["response"] == answer and wechat["takedown"]["status_code"] == 200
