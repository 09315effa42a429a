"""Cases through the API: the staff workflow, an event per transition, the citizen's view."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from common.identity import SignedHeaders
from services.interaction.clock import FixedClock, shanghai
from services.interaction.models import Case, SubmissionAttempt
from tests.integration.interaction.conftest import (
    CO_HANDLER,
    HANDLER,
    MESSAGE,
    OFFICE,
    OTHER_HANDLER,
    submit,
)
from tests.integration.interaction.helpers import count, outbox

REPLY = {
    "text": "已在校门口增设两名协管员，电话13812345678的来信人可再联系。",
    "outcome": "resolved",
    "reason": "已增设协管员",
}


async def post(
    client: httpx.AsyncClient,
    number: str,
    action: str,
    headers: dict[str, str],
    body: dict | None = None,
) -> httpx.Response:
    return await client.post(f"/api/v1/cases/{number}/{action}", json=body or {}, headers=headers)


async def test_full_flow_with_events(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await submit(client, clock)
    number, token = created["number"], created["token"]
    assert created["due_on"] == "2025-10-13" and created["due_provisional"] is False

    assert (await post(client, number, "screen", OFFICE)).status_code == 200
    assert (await post(client, number, "accept", HANDLER)).status_code == 403
    assert (await post(client, number, "accept", OFFICE)).status_code == 200
    dispatched = await post(
        client, number, "dispatch", OFFICE, {"lead_department": "edu", "co_departments": ["hr"]}
    )
    assert dispatched.json()["state"] == "dispatched"
    assert (await post(client, number, "start", OTHER_HANDLER)).status_code == 403
    assert (await post(client, number, "start", HANDLER)).status_code == 200
    opinion = await post(client, number, "opinions", CO_HANDLER, {"text": "人社局无意见"})
    assert opinion.status_code == 200
    assert (
        await post(client, number, "reply", HANDLER, {**REPLY, "reason": ""})
    ).status_code == 422
    assert (await post(client, number, "reply", HANDLER, REPLY)).json()["state"] == "reply_review"
    assert (await post(client, number, "reply/return", OFFICE, {"reason": "请写明时间"})).json()[
        "state"
    ] == "in_progress"
    assert (await post(client, number, "reply", HANDLER, REPLY)).status_code == 200
    clock.set(shanghai(2025, 10, 9, 15))
    replied = await post(client, number, "reply/approve", OFFICE)
    assert replied.json()["state"] == "replied"
    assert replied.json()["clocks"][0] == {
        **replied.json()["clocks"][0],
        "running": False,
        "met_on": "2025-10-09",
        "breached": False,
    }

    view = (await client.get(f"/api/v1/cases/{number}?token={token}")).json()
    assert (
        view["state"] == "replied"
        and view["reply"] == REPLY["text"]
        and view["outcome"] == "resolved"
    )
    assert [h["action"] for h in view["history"]] == ["received", "accept", "dispatch", "reply"]
    link = view["satisfaction_token"]
    rated = await client.post(
        f"/api/v1/cases/{number}/satisfaction", json={"token": link, "rating": "satisfied"}
    )
    assert rated.json()["state"] == "closed"
    again = await client.post(
        f"/api/v1/cases/{number}/satisfaction",
        json={"token": link, "rating": "unsatisfied", "reason": "x"},
    )
    assert again.status_code == 409  # single use

    events = await outbox(app)
    assert {e["key"] for e in events} == {view_id(events)}
    assert [(e["topic"], e["action"]) for e in events] == [
        ("case.received", "received"),
        ("case.progressed", "screen"),
        ("case.accepted", "accept"),
        ("case.dispatched", "dispatch"),
        ("case.progressed", "start"),
        ("case.progressed", "opinion"),
        ("case.reply_submitted", "submit_reply"),
        ("case.progressed", "return_reply"),
        ("case.reply_submitted", "submit_reply"),
        ("case.replied", "reply"),
        ("case.followed_up", "rate"),
    ]
    assert events[3]["co_departments"] == ["hr"] and events[9]["outcome"] == "resolved"
    assert all("13812345678" not in str(e) for e in events)  # no personal data in events


def view_id(events: list[dict]) -> str:
    return events[0]["case_id"]


async def test_wrong_token_reveals_nothing(client: httpx.AsyncClient, clock: FixedClock) -> None:
    created = await submit(client, clock)
    wrong = await client.get(f"/api/v1/cases/{created['number']}?token=guess")
    unknown = await client.get("/api/v1/cases/20250926000000?token=guess")
    no_token = await client.get(f"/api/v1/cases/{created['number']}")
    assert wrong.status_code == unknown.status_code == no_token.status_code == 404
    assert wrong.json()["detail"] == unknown.json()["detail"] == no_token.json()["detail"]
    withdraw = await client.post(
        f"/api/v1/cases/{created['number']}/withdraw", json={"token": "guess"}
    )
    assert withdraw.status_code == 404


async def test_withdrawal_before_reply(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await submit(client, clock)
    body = {"token": created["token"], "reason": "问题已自行解决"}
    done = await client.post(f"/api/v1/cases/{created['number']}/withdraw", json=body)
    assert done.json()["state"] == "withdrawn"
    assert (
        await client.post(f"/api/v1/cases/{created['number']}/withdraw", json=body)
    ).status_code == 409
    assert (await outbox(app))[-1]["topic"] == "case.withdrawn"


async def test_screening_outcomes_need_reasons(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    first = await submit(client, clock)
    second = await submit(
        client, clock, title="同一件事", body="校门口拥堵严重，请处理一下这个问题。"
    )
    third = await submit(
        client, clock, title="广告", body="优惠促销点击链接领取大奖", phone="13900001111"
    )
    assert (await post(client, first["number"], "not-accept", OFFICE, {})).status_code == 422
    merged = await post(client, second["number"], "merge", OFFICE, {"into": first["number"]})
    assert merged.json()["state"] == "merged" and merged.json()["merged_into"] == first["number"]
    spam = await post(client, third["number"], "spam", OFFICE, {"reason": "广告"})
    assert spam.json()["state"] == "spam"
    rejected = await post(
        client, first["number"], "not-accept", OFFICE, {"reason": "属于司法程序，请向法院反映"}
    )
    assert rejected.json()["state"] == "not_accepted" and rejected.json()["outcome_reason"]
    citizen = (await client.get(f"/api/v1/cases/{second['number']}?token={second['token']}")).json()
    assert citizen["outcome_reason"].startswith("与") and citizen["state_label"] == "已合并"


async def test_returns_inside_window_then_designation(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await submit(client, clock)
    number = created["number"]
    await post(client, number, "accept", OFFICE)
    for _ in range(2):
        await post(client, number, "dispatch", OFFICE, {"lead_department": "edu"})
        assert (await post(client, number, "return", HANDLER, {})).status_code == 422
        returned = await post(client, number, "return", HANDLER, {"reason": "不属于本单位职责"})
        assert returned.json()["state"] == "accepted"
    designated = await post(client, number, "dispatch", OFFICE, {"lead_department": "edu"})
    assert designated.json()["designated"] is True
    assert (await post(client, number, "return", HANDLER, {"reason": "再退"})).status_code == 409
    # the statutory clock never moved
    assert designated.json()["clocks"][0]["due_on"] == "2025-10-13"

    late = await submit(client, clock, title="另一件", body="另一件事情的详细内容说明。")
    await post(client, late["number"], "accept", OFFICE)
    await post(client, late["number"], "dispatch", OFFICE, {"lead_department": "edu"})
    clock.set(shanghai(2025, 10, 10, 9))  # 09-26 → 10-10: 4 working days later
    too_late = await post(client, late["number"], "return", HANDLER, {"reason": "不属于本单位"})
    assert too_late.status_code == 409 and too_late.json()["errors"][0]["field"] == "reason"
    assert [e["action"] for e in await outbox(app) if e["topic"] == "case.returned"] == [
        "return",
        "return",
    ]


async def test_extension_once_and_suspension_capped(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    clock.set(shanghai(2025, 9, 22, 10))
    created = await submit(client, clock)
    number = created["number"]
    assert created["due_on"] == "2025-09-30"
    clock.set(shanghai(2025, 9, 23, 10))
    await post(client, number, "accept", OFFICE)
    await post(client, number, "dispatch", OFFICE, {"lead_department": "edu"})
    await post(client, number, "start", HANDLER)

    clock.set(shanghai(2025, 9, 24, 10))
    await post(client, number, "suspend", HANDLER, {"reason": "请补充学校名称"})
    clock.set(shanghai(2025, 9, 26, 10))
    resumed = await client.post(
        f"/api/v1/cases/{number}/supplement",
        json={"token": created["token"], "reason": "学校为第一小学"},
    )
    assert resumed.json()["state"] == "in_progress" and resumed.json()["due_on"] == "2025-10-10"

    asked = await post(client, number, "extension", HANDLER, {"reason": "涉及多部门"})
    assert asked.json()["state"] == "extension_requested"
    decided = await post(
        client, number, "extension/decision", OFFICE, {"approve": True, "reason": "情况复杂"}
    )
    # 15 working days from acceptance (09-23) = 10-20, plus the 2 paused days = 10-22
    assert decided.json()["clocks"][0]["due_on"] == "2025-10-22"
    assert (await post(client, number, "extension", HANDLER, {"reason": "再延"})).status_code == 409
    view = (await client.get(f"/api/v1/cases/{number}?token={created['token']}")).json()
    assert view["due_on"] == "2025-10-22" and "extension_approved" in [
        h["action"] for h in view["history"]
    ]
    changed = [e["due_on"] for e in await outbox(app) if e["topic"] == "case.deadline_changed"]
    assert changed == ["2025-10-10", "2025-10-22"]


async def test_suspension_cap(client: httpx.AsyncClient, clock: FixedClock, app: FastAPI) -> None:
    created = await submit(client, clock)
    number = created["number"]
    await post(client, number, "accept", OFFICE)
    await post(client, number, "dispatch", OFFICE, {"lead_department": "edu"})
    await post(client, number, "start", HANDLER)
    await post(client, number, "suspend", HANDLER, {"reason": "等待材料"})
    clock.set(shanghai(2025, 11, 28, 10))  # far beyond the 10-working-day cap
    resumed = await post(client, number, "resume", HANDLER)
    assert resumed.json()["suspended_days"] == 10
    # 10-13 + 10 working days = 10-27
    assert resumed.json()["clocks"][0]["due_on"] == "2025-10-27"
    assert (await post(client, number, "suspend", HANDLER, {"reason": "再等"})).status_code == 409


async def test_unsatisfied_reopen_once_then_supervision(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await submit(client, clock)
    number, token = created["number"], created["token"]
    await post(client, number, "accept", OFFICE)
    await post(client, number, "dispatch", OFFICE, {"lead_department": "edu"})
    await post(client, number, "start", HANDLER)
    await post(client, number, "reply", HANDLER, REPLY)
    await post(client, number, "reply/approve", OFFICE)
    link = (await client.get(f"/api/v1/cases/{number}?token={token}")).json()["satisfaction_token"]
    no_reason = await client.post(
        f"/api/v1/cases/{number}/satisfaction", json={"token": link, "rating": "unsatisfied"}
    )
    assert no_reason.status_code == 422
    rated = await client.post(
        f"/api/v1/cases/{number}/satisfaction",
        json={"token": link, "rating": "unsatisfied", "reason": "问题仍然存在"},
    )
    assert rated.json()["state"] == "followup"
    reopened = await post(client, number, "reopen", OFFICE, {"reason": "理由成立"})
    assert reopened.json()["state"] == "in_progress" and reopened.json()["reopen_count"] == 1
    assert [c["clock"] for c in reopened.json()["clocks"]] == ["reply", "reopen"]
    await post(client, number, "reply", HANDLER, REPLY)
    await post(client, number, "reply/approve", OFFICE)
    link2 = (await client.get(f"/api/v1/cases/{number}?token={token}")).json()["satisfaction_token"]
    assert link2 != link
    second = await client.post(
        f"/api/v1/cases/{number}/satisfaction",
        json={"token": link2, "rating": "unsatisfied", "reason": "还是没解决"},
    )
    assert second.json()["state"] == "supervision"
    assert (await post(client, number, "reopen", OFFICE, {"reason": "再来"})).status_code == 409
    closed = await post(client, number, "close", OFFICE, {"reason": "督办后已说明情况"})
    assert closed.json()["state"] == "closed" and closed.json()["supervised"] is True


async def test_correction_two_clocks(client: httpx.AsyncClient, clock: FixedClock) -> None:
    clock.set(shanghai(2025, 1, 24, 16))
    body = {
        "kind": "correction",
        "page_url": "https://www.gov.cn/a.html",
        "phone": None,
        "title": "错别字",
        "body": "第二段“部署”写成了“布署”。",
    }
    created = await submit(client, clock, **body)
    assert created["due_on"] == "2025-01-26"  # forward within 1 working day: the make-up Sunday
    number = created["number"]
    assert (await post(client, number, "accept", OFFICE)).status_code == 409
    clock.set(shanghai(2025, 1, 26, 9))
    forwarded = (await post(client, number, "forward", OFFICE, {"department": "web"})).json()
    clocks = {c["clock"]: c for c in forwarded["clocks"]}
    assert clocks["forward"]["met_on"] == "2025-01-26" and not clocks["forward"]["running"]
    assert clocks["reply"]["due_on"] == "2025-02-05"  # 2 working days after forwarding
    web = {**HANDLER}
    from common.testing import staff

    web = staff("h-web", ("handler",), department="web")
    assert (await post(client, number, "fix", web)).json()["state"] == "fixing"
    assert (await post(client, number, "verify", OFFICE, {"reason": "已改正"})).json()[
        "state"
    ] == "verified"
    await post(
        client,
        number,
        "reply",
        web,
        {"text": "已更正，感谢指正。", "outcome": "resolved", "reason": "已更正"},
    )
    assert (await post(client, number, "reply/approve", OFFICE)).json()["state"] == "replied"


async def test_abuse_controls(app: FastAPI, client: httpx.AsyncClient, clock: FixedClock) -> None:
    token = (await client.get("/api/v1/cases/form")).json()["form_token"]
    clock.advance(seconds=1)
    too_fast = await client.post("/api/v1/cases", json={**MESSAGE, "form_token": token})
    assert too_fast.status_code == 400 and too_fast.json()["errors"][0]["field"] == "form_token"
    clock.advance(seconds=30)
    bot = await client.post(
        "/api/v1/cases", json={**MESSAGE, "form_token": token, "website": "http://spam"}
    )
    assert bot.status_code == 400 and bot.json()["errors"][0]["field"] == "website"
    forged = await client.post("/api/v1/cases", json={**MESSAGE, "form_token": "123.abc"})
    assert forged.status_code == 400
    no_phone = await client.post(
        "/api/v1/cases", json={**MESSAGE, "phone": None, "form_token": token}
    )
    assert (
        no_phone.status_code == 422
        and no_phone.headers["content-type"] == "application/problem+json"
    )
    assert await count(app, Case) == 0

    await submit(client, clock)
    duplicate = await client.post(
        "/api/v1/cases", json={**MESSAGE, "body": MESSAGE["body"] + "  ", "form_token": token}
    )
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "body"
    for n in range(4):
        await submit(client, clock, title=f"第{n}件", body=f"不同的内容第{n}件详细说明")
    per_phone = await client.post(
        "/api/v1/cases", json={**MESSAGE, "title": "第六件", "form_token": token}
    )
    assert per_phone.status_code == 429 and per_phone.json()["errors"][0]["field"] == "phone"
    assert await count(app, Case) == 5 and await count(app, SubmissionAttempt) == 5


async def test_rate_limit_per_ip_uses_the_address_the_gateway_signed(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    app.state.settings.rate_limit_per_ip = 2
    secret = app.state.settings.internal_secret
    headers = SignedHeaders(secret, client_address="203.0.113.7")
    token = (await client.get("/api/v1/cases/form")).json()["form_token"]
    clock.advance(seconds=30)
    for n in range(2):
        body = {**MESSAGE, "phone": f"1390000000{n}", "title": f"标题{n}", "form_token": token}
        assert (await client.post("/api/v1/cases", json=body, headers=headers)).status_code == 201
    body = {**MESSAGE, "phone": "13900000009", "title": "标题9", "form_token": token}
    limited = await client.post("/api/v1/cases", json=body, headers=headers)
    assert limited.status_code == 429 and limited.json()["errors"][0]["field"] == "ip"
    # A forged X-Forwarded-For from an untrusted peer changes nothing: still the same key.
    forged = await client.post(
        "/api/v1/cases", json=body, headers={**headers, "x-forwarded-for": "198.51.100.1"}
    )
    assert forged.status_code == 429
    # An address header without the gateway's signature is refused, not believed.
    unsigned = await client.post(
        "/api/v1/cases", json=body, headers={"x-kitchen-client-address": "198.51.100.1"}
    )
    assert unsigned.status_code == 401
    other = SignedHeaders(secret, client_address="198.51.100.1")
    assert (await client.post("/api/v1/cases", json=body, headers=other)).status_code == 201
