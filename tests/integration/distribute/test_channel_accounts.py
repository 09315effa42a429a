"""新媒体账号备案: admins register WeChat and Weibo accounts whose credentials the platform (the
sandboxes, over HTTP) accepted; credentials are sealed and never shown; one active account per
platform per unit unless an exception is recorded; closing an account cancels what it had not
sent yet. Every act is in the audit chain; a refused one writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlmodel import col

from common.events import utcnow
from common.secretbox import SecretBox
from common.testing import answers_its_model, staff
from kitchen.sandboxes.demo import DEMO_ACCOUNTS
from services.distribute.account_registry import reseal_credentials
from services.distribute.app import create_app
from services.distribute.clients.wechat import wechat_adapter
from services.distribute.clients.weibo import weibo_adapter
from services.distribute.models import AuditEntry, ChannelAccount, ChannelPost, Delivery, Release
from services.distribute.routes import routers
from tests.fixtures.sandbox_wechat import WechatSandbox
from tests.fixtures.sandbox_weibo import WeiboSandbox
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    Distribute,
    FakeIngest,
    make_settings,
)

ACCOUNTS = "/api/v1/channels/accounts"
SICHUAN_WECHAT, CHENGDU_WECHAT, SICHUAN_WEIBO, CHENGDU_WEIBO = DEMO_ACCOUNTS
SECRETS = [v for a in DEMO_ACCOUNTS for k, v in a["credentials"].items() if k != "appid"]


@pytest.fixture(name="channels")
async def channels_app(
    database_url: str, sandbox_wechat: WechatSandbox, sandbox_weibo: WeiboSandbox
) -> AsyncIterator[Distribute]:
    """Distribute with the real adapters pointed at the sandboxes; every JSON success is
    checked against its route's model."""
    settings = make_settings(
        database_url,
        wechat_api_url=sandbox_wechat.base_url,
        weibo_api_url=sandbox_weibo.base_url,
        channel_timeout_seconds=3.0,
    )
    ingest = FakeIngest()
    app = create_app(settings, ingest_transport=httpx.MockTransport(ingest))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        app.state.deps.channels.factories.update({"wechat": wechat_adapter, "weibo": weibo_adapter})
        transport = httpx.ASGITransport(app=manager.app)
        hooks = {"response": [answers_its_model(routers)]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://distribute", event_hooks=hooks
        ) as client:
            yield Distribute(app, client, ingest, settings)


async def register(
    channels: Distribute, account: dict[str, Any], status: int = 201, **headers: str
) -> dict[str, Any]:
    response = await channels.client.post(ACCOUNTS, json=account, headers={**ADMIN, **headers})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def fields_of(problem: dict[str, Any]) -> set[str]:
    return {e["field"].removeprefix("body.") for e in problem["errors"]}


async def rows(channels: Distribute) -> list[ChannelAccount]:
    async with channels.app.state.db.sessions() as session:
        query = select(ChannelAccount).order_by(col(ChannelAccount.created_at))
        return list((await session.execute(query)).scalars())


async def audit_entries(channels: Distribute) -> list[AuditEntry]:
    async with channels.app.state.db.sessions() as session:
        query = select(AuditEntry).where(col(AuditEntry.action).startswith("channel_account."))
        return list((await session.execute(query.order_by(col(AuditEntry.seq)))).scalars())


async def listed(channels: Distribute, query: str) -> list[str]:
    response = await channels.client.get(f"{ACCOUNTS}?{query}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return [a["name"] for a in response.json()["items"]]


async def test_registered_accounts_are_listed_filtered_and_their_credentials_never_shown(
    channels: Distribute,
) -> None:
    answers = [await register(channels, account) for account in DEMO_ACCOUNTS]
    first = answers[0]
    assert first["credentials_set"] is True and "credentials" not in first
    assert first["status"] == "active" and first["sites"] == ["province"]
    assert first["filing_number"] == "川公网新媒备 0001 号"
    assert answers[2]["safe_domain"] == "gov.cn" and answers[2]["app_id"] == "weibodemoapp"

    assert await listed(channels, "platform=weibo") == ["四川发布微博", "成都发布微博"]
    assert await listed(channels, "site=city") == ["成都发布", "成都发布微博"]
    assert await listed(channels, "unit=四川省人民政府办公厅&platform=wechat") == ["四川发布"]
    assert await listed(channels, "status=suspended") == []
    page = (await channels.client.get(f"{ACCOUNTS}?limit=3", headers=ADMIN)).json()
    rest = await channels.client.get(f"{ACCOUNTS}?cursor={page['next_cursor']}", headers=ADMIN)
    names = [a["name"] for a in page["items"] + rest.json()["items"]]
    assert names == [a["name"] for a in DEMO_ACCOUNTS] and rest.json()["next_cursor"] is None
    one = await channels.client.get(f"{ACCOUNTS}/{first['id']}", headers=ADMIN)
    assert one.json() == first

    everything = [one.text, rest.text, orjson.dumps(page).decode(), orjson.dumps(answers).decode()]
    for secret in SECRETS:
        assert not any(secret in text for text in everything)
    stored = await rows(channels)
    box = channels.deps.box
    for row, account in zip(stored, DEMO_ACCOUNTS, strict=True):
        assert row.credentials.startswith("fernet:")
        assert not any(secret in row.credentials for secret in SECRETS)
        assert orjson.loads(box.open(row.credentials)) == account["credentials"]
    trail = await audit_entries(channels)
    assert [(e.actor, e.action) for e in trail] == [("admin", "channel_account.registered")] * 4
    assert not any(secret in e.data for e in trail for secret in SECRETS)

    for path in (ACCOUNTS, f"{ACCOUNTS}/{first['id']}"):
        assert (await channels.client.get(path, headers=EDITOR)).status_code == 403
    assert (await channels.client.get(f"{ACCOUNTS}/acc_nope", headers=ADMIN)).status_code == 404


async def test_credentials_the_platform_refuses_are_a_422_and_write_nothing(
    channels: Distribute, sandbox_weibo: WeiboSandbox
) -> None:
    wrong_secret = {**SICHUAN_WECHAT, "credentials": {**SICHUAN_WECHAT["credentials"]}}
    wrong_secret["credentials"]["secret"] = "not-the-secret"
    wrong_token = {**SICHUAN_WEIBO, "credentials": {"access_token": "not-a-token"}}
    # a token of another account: the platform answers for another uid
    others_token = {**SICHUAN_WEIBO, "credentials": CHENGDU_WEIBO["credentials"]}
    for account in (wrong_secret, wrong_token, others_token):
        problem = await register(channels, account, 422)
        assert fields_of(problem) == {"credentials"}, problem
        assert account["platform"] in problem["detail"]
        assert not any(secret in problem["detail"] for secret in SECRETS)

    sandbox_weibo.arm("account/get_uid", "http_503", times=5)
    down = await channels.client.post(ACCOUNTS, json=SICHUAN_WEIBO, headers=ADMIN)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/problem+json")
    assert await rows(channels) == [] and await audit_entries(channels) == []


async def test_bad_input_names_the_field_and_writes_nothing(channels: Distribute) -> None:
    base = SICHUAN_WECHAT
    cases: list[tuple[dict[str, Any], str]] = [
        ({**base, "platform": "douyin"}, "platform"),
        ({**base, "sites": ["nowhere"]}, "sites"),
        ({**base, "default_columns": ["province/nothing"]}, "default_columns"),
        ({**base, "default_columns": ["city/news"]}, "default_columns"),  # not a listed site
        ({**base, "default_columns": ["news"]}, "default_columns.0"),
        ({**base, "credentials": {"appid": "wx", "secret": "s", "token": "t"}}, "credentials"),
        ({**base, "credentials": {"access_token": "t"}}, "credentials"),
        ({**base, "credentials": {"appid": "wx", "secret": "a\x00b"}}, "credentials"),
        ({**base, "name": "四川\x07发布"}, "name"),
        ({**base, "unit": "单" * 201}, "unit"),
        ({**base, "operator": "x\u0085y"}, "operator"),
        ({**base, "exception_reason": "   "}, "exception_reason"),
        ({**base, "platform_account_id": "wx demo"}, "platform_account_id"),
        ({**base, "surprise": 1}, "surprise"),
        ({k: v for k, v in SICHUAN_WEIBO.items() if k != "safe_domain"}, "safe_domain"),
        ({k: v for k, v in SICHUAN_WEIBO.items() if k != "app_id"}, "app_id"),
        ({**SICHUAN_WEIBO, "safe_domain": "http://gov.cn/"}, "safe_domain"),
    ]
    for account, field in cases:
        problem = await register(channels, account, 422)
        assert field in fields_of(problem), (field, problem)
    city_admin = staff("city-admin", ("admin",), sites=["city"])
    outside = await channels.client.post(ACCOUNTS, json=base, headers=city_admin)
    assert outside.status_code == 403
    assert await rows(channels) == [] and await audit_entries(channels) == []


async def test_one_active_account_per_platform_and_unit_unless_an_exception_is_recorded(
    channels: Distribute,
) -> None:
    first = await register(channels, SICHUAN_WECHAT)
    await register(channels, SICHUAN_WEIBO)  # the same unit on the other platform is fine
    second = {**CHENGDU_WECHAT, "unit": SICHUAN_WECHAT["unit"], "name": "四川发布服务号"}
    problem = await register(channels, second, 409)
    assert fields_of(problem) == {"unit"} and first["id"] in problem["detail"]

    reason = "服务号与订阅号分设，经省政府办公厅批准"
    allowed = await register(channels, {**second, "exception_reason": reason})
    assert allowed["exception_reason"] == reason and allowed["status"] == "active"
    trail = await audit_entries(channels)
    assert orjson.loads(trail[-1].data)["exception_reason"] == reason

    # with the exception closed and the first suspended, none is active: a new one may come;
    # reactivating the first then meets the rule again
    retire = {"status": "closed", "reason": "服务号停用"}
    path = f"{ACCOUNTS}/{allowed['id']}/status"
    assert (await channels.client.post(path, json=retire, headers=ADMIN)).status_code == 200
    status = f"{ACCOUNTS}/{first['id']}/status"
    suspend = {"status": "suspended", "reason": "运营人员调整"}
    response = await channels.client.post(status, json=suspend, headers=ADMIN)
    assert response.status_code == 200 and response.json()["status_reason"] == "运营人员调整"
    third = await register(channels, {**second, "name": "四川发布新号"})
    again = await channels.client.post(status, json={"status": "active"}, headers=ADMIN)
    assert again.status_code == 409 and fields_of(again.json()) == {"unit"}
    close = {"status": "closed", "reason": "并入新号"}
    closed = await channels.client.post(
        f"{ACCOUNTS}/{third['id']}/status", json=close, headers=ADMIN
    )
    assert closed.status_code == 200 and closed.json()["closed_at"] is not None
    active = await channels.client.post(status, json={"status": "active"}, headers=ADMIN)
    assert active.status_code == 200 and active.json()["status"] == "active"
    actions = [e.action for e in await audit_entries(channels)]
    assert actions[-3:] == [
        "channel_account.registered",
        "channel_account.closed",
        "channel_account.active",
    ]


async def test_a_status_change_needs_a_reason_and_closing_is_final(channels: Distribute) -> None:
    account = await register(channels, SICHUAN_WECHAT)
    status, path = f"{ACCOUNTS}/{account['id']}/status", f"{ACCOUNTS}/{account['id']}"
    for body, field in (
        ({"status": "closed"}, "reason"),
        ({"status": "suspended", "reason": "  "}, "reason"),
        ({"status": "deleted", "reason": "x"}, "status"),
    ):
        response = await channels.client.post(status, json=body, headers=ADMIN)
        assert response.status_code == 422 and field in fields_of(response.json())
    close = {"status": "closed", "reason": "账号注销"}
    assert (await channels.client.post(status, json=close, headers=ADMIN)).status_code == 200
    for body in ({"status": "active"}, close):
        response = await channels.client.post(status, json=body, headers=ADMIN)
        assert response.status_code == 409 and fields_of(response.json()) == {"status"}
    patched = await channels.client.patch(path, json={"name": "新名字"}, headers=ADMIN)
    assert patched.status_code == 409
    assert [e.action for e in await audit_entries(channels)] == [
        "channel_account.registered",
        "channel_account.closed",
    ]


async def test_changes_are_checked_and_new_credentials_verified(channels: Distribute) -> None:
    account = await register(channels, CHENGDU_WEIBO)
    path = f"{ACCOUNTS}/{account['id']}"
    changes = {
        "name": "成都发布官方微博",
        "sites": ["city"],
        "default_columns": ["city/news", "city/notices"],
        "filing_number": "川公网新媒备 0099 号",
    }
    response = await channels.client.patch(path, json=changes, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in changes} == changes
    for body, field in (
        ({"sites": ["province"]}, "default_columns"),  # city columns not on the sites any more
        ({"credentials": {"access_token": "not-a-token"}}, "credentials"),
        ({"credentials": {"appid": "x", "secret": "y"}}, "credentials"),
        ({"safe_domain": ""}, "safe_domain"),
        ({"name": "a\x1bb"}, "name"),
    ):
        refused = await channels.client.patch(path, json=body, headers=ADMIN)
        assert refused.status_code == 422 and field in fields_of(refused.json()), refused.text
    token = {"credentials": {"access_token": CHENGDU_WEIBO["credentials"]["access_token"]}}
    assert (await channels.client.patch(path, json=token, headers=ADMIN)).status_code == 200
    trail = await audit_entries(channels)
    assert [orjson.loads(e.data).get("changed") for e in trail] == [
        None,
        ["default_columns", "filing_number", "name", "sites"],
        ["credentials"],
    ]
    (row,) = await rows(channels)
    assert row.name == "成都发布官方微博" and row.sites == ["city"]


async def test_a_retried_registration_with_its_idempotency_key_registers_once(
    channels: Distribute,
) -> None:
    first = await channels.client.post(
        ACCOUNTS, json=SICHUAN_WECHAT, headers={**ADMIN, "Idempotency-Key": "reg-1"}
    )
    again = await channels.client.post(
        ACCOUNTS, json=SICHUAN_WECHAT, headers={**ADMIN, "Idempotency-Key": "reg-1"}
    )
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert again.headers["location"] == f"{ACCOUNTS}/{first.json()['id']}"
    other = await channels.client.post(
        ACCOUNTS, json=SICHUAN_WEIBO, headers={**ADMIN, "Idempotency-Key": "reg-1"}
    )
    assert other.status_code == 422
    assert len(await rows(channels)) == 1


async def add_release(
    channels: Distribute, content_id: str, account_id: str, states: dict[str, str]
) -> None:
    """A release of `content_id` v1 with a delivered portal page and the account's posts in
    `states` (target → state): what the delivery job leaves behind mid-way."""
    now = utcnow()
    async with channels.app.state.db.sessions() as session:
        session.add(
            Release(
                content_id=content_id,
                version=1,
                content_hash=f"hash-{content_id}",
                site="province",
                state="delivering",
                approved_at=now,
            )
        )
        targets = {"portal:province/news": "delivered", **states}
        for n, (target, state) in enumerate(targets.items()):
            channel = target.split(":")[0]
            session.add(
                Delivery(
                    id=f"msg_{content_id}_{n}",
                    content_id=content_id,
                    version=1,
                    content_hash=f"hash-{content_id}",
                    action="publish",
                    target=target,
                    channel=channel,
                    account_id=None if channel == "portal" else account_id,
                    state=state,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.commit()


async def test_closing_an_account_cancels_what_it_had_not_sent(channels: Distribute) -> None:
    account = await register(channels, SICHUAN_WECHAT)
    other = await register(channels, CHENGDU_WECHAT)
    target = f"wechat:{account['id']}"
    await add_release(channels, "c1", account["id"], {target: "pending"})
    await add_release(channels, "c2", account["id"], {target: "parked"})
    await add_release(channels, "c3", account["id"], {target: "needs_edit"})
    await add_release(channels, "c4", account["id"], {target: "sending"})  # on its way: left
    await add_release(channels, "c5", other["id"], {f"wechat:{other['id']}": "pending"})
    # pending again after its submit was attempted: it may be live, so read back, not cancelled
    await add_release(channels, "c6", account["id"], {target: "pending"})
    async with channels.app.state.db.sessions() as session:
        session.add(
            ChannelPost(
                delivery_id="msg_c6_1",
                account_id=account["id"],
                platform="wechat",
                variant_hash="h",
                marker="m6",
                stage="drafted",
                progress={"attempting": "submit", "media_id": "MEDIA"},
                updated_at=utcnow(),
            )
        )
        await session.commit()

    close = {"status": "closed", "reason": "单位撤并"}
    path = f"{ACCOUNTS}/{account['id']}/status"
    response = await channels.client.post(path, json=close, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed" and response.json()["status_reason"] == "单位撤并"

    async with channels.app.state.db.sessions() as session:
        deliveries = {
            d.content_id: d.state
            for d in (await session.execute(select(Delivery))).scalars()
            if d.channel == "wechat"
        }
        releases = {
            r.content_id: r.state for r in (await session.execute(select(Release))).scalars()
        }
    assert deliveries == {
        "c1": "cancelled",
        "c2": "cancelled",
        "c3": "cancelled",
        "c4": "sending",
        "c5": "pending",
        "c6": "pending",
    }
    # the portal page was delivered and the account is no longer a target: published
    assert releases == {
        "c1": "published",
        "c2": "published",
        "c3": "published",
        "c4": "delivering",
        "c5": "delivering",
        "c6": "delivering",
    }
    updates = await channels.outbox("delivery.updated")
    assert [(u["content_id"], u["state"], u["detail"]) for u in updates] == [
        (c, "cancelled", "账号已关闭：单位撤并") for c in ("c1", "c2", "c3")
    ]
    published = await channels.outbox("content.published")
    assert [(p["content_id"], p["targets"]) for p in published] == [
        (c, ["portal:province/news"]) for c in ("c1", "c2", "c3")
    ]
    (entry,) = [e for e in await audit_entries(channels) if e.action == "channel_account.closed"]
    assert orjson.loads(entry.data)["cancelled_deliveries"] == [f"msg_c{n}_1" for n in (1, 2, 3)]


async def test_demo_accounts_are_registered_at_start_once(database_url: str) -> None:
    settings = make_settings(database_url, demo_channel_accounts=DEMO_ACCOUNTS)
    for _ in range(2):  # a second start finds accounts and adds none
        app = create_app(settings, ingest_transport=httpx.MockTransport(FakeIngest()))
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            async with app.state.db.sessions() as session:
                stored = list((await session.execute(select(ChannelAccount))).scalars())
                query = select(func.count()).select_from(AuditEntry)
                audited = (
                    await session.execute(query.where(col(AuditEntry.actor) == "system:distribute"))
                ).scalar()
            box = app.state.deps.box
    assert sorted(a.name for a in stored) == sorted(a["name"] for a in DEMO_ACCOUNTS)
    assert all(
        orjson.loads(box.open(a.credentials)) in [d["credentials"] for d in DEMO_ACCOUNTS]
        for a in stored
    )
    assert all(a.credentials.startswith("fernet:") for a in stored)
    assert audited == len(DEMO_ACCOUNTS)


async def test_two_registrations_for_one_unit_at_once_make_one_active_account(
    channels: Distribute,
) -> None:
    twin = {**CHENGDU_WECHAT, "unit": SICHUAN_WECHAT["unit"]}
    answers = await asyncio.gather(
        *(channels.client.post(ACCOUNTS, json=a, headers=ADMIN) for a in (SICHUAN_WECHAT, twin))
    )
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    assert len(await rows(channels)) == 1


async def test_credentials_are_resealed_with_a_new_data_key(channels: Distribute) -> None:
    await register(channels, SICHUAN_WECHAT)
    (before,) = await rows(channels)
    old_key = channels.settings.data_key
    rotated = SecretBox("a-new-data-key-for-this-test", [old_key])
    assert await channels.run(lambda run: reseal_credentials(run.session, rotated)) == 1
    assert await channels.run(lambda run: reseal_credentials(run.session, rotated)) == 0
    (after,) = await rows(channels)
    assert after.credentials != before.credentials and after.credentials.startswith("fernet:")
    opened = SecretBox("a-new-data-key-for-this-test").open(after.credentials)
    assert orjson.loads(opened) == SICHUAN_WECHAT["credentials"]
