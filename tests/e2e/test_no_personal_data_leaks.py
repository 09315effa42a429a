"""No personal data in any public output of a running hub.

A corpus full of personal data goes through contents (clean, blocked, override attempts, an
override of a non-personal finding) and cases (public / private / anonymous, published, drafted,
unhandled, filed over Open311). Then every public output is read — portal lists and item pages
with their page tags, RSS/Atom/JSON feeds, site search, the change feed, webhook payloads,
Open311 list and detail, published cases, case search, statistics — and no response may carry
any corpus value unmasked, nor anything the personal-data detector finds.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from common.personal_data import find_personal_data
from common.testing import database_kind_under_test
from tests.e2e.hub import HubClient, notice, running_hub, wait_for
from tests.e2e.receiver import webhook_receiver

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"e2e-leak-webhook-secret-0123456").decode()
SITE, COLUMN, DEPARTMENT = "province", "notices", "gov-office"

# --- the corpus ----------------------------------------------------------------------------

PEOPLE = [
    {
        "name": "欧阳明哲",
        "phone": "13912345601",
        "email": "ouyang.mz@qq.com",
        "id": "11010519491231002X",
        "card": "6222021234567890128",
        "landline": "028-86612345",
        "address": "四川省成都市武侯区人民南路四段12号3栋501",
        "house": "12号3栋501",
        "lat": 30.657321,
        "long": 104.063215,
    },
    {
        "name": "司马秀英",
        "phone": "13712345602",
        "email": "sima_xy@163.com",
        "id": "110105194912300219",
        "card": "4111111111111111",
        "landline": "(0755)87654321",
        "address": "广东省深圳市南山区科技园路88号2单元1203",
        "house": "88号2单元1203",
        "lat": 22.541234,
        "long": 113.952345,
    },
    {
        "name": "诸葛文韬",
        "phone": "15812345603",
        "email": "zhuge.wt@example.com",
        "id": "110105491231002",
        "card": "6212261202011584340",
        "landline": "010 8888 6666",
        "address": "北京市海淀区中关村大街27号院5号楼",
        "house": "27号院5号楼",
        "lat": 39.983456,
        "long": 116.312789,
    },
]


def person(n: int) -> dict[str, Any]:
    """The n-th citizen: the fixed people first, then generated ones (valid values)."""
    if n < len(PEOPLE):
        return PEOPLE[n]
    base = PEOPLE[n % len(PEOPLE)]
    return {
        **base,
        "name": ["东方玉琳", "上官子谦", "慕容静姝", "公孙伯远", "令狐秋实"][n % 5],
        "phone": f"186{n:04d}{n * 7 % 10000:04d}",
        "email": f"citizen{n}@sina.com",
        "address": f"四川省绵阳市涪城区临园路东段{30 + n}号{n}栋{100 + n}",
        "house": f"{30 + n}号{n}栋{100 + n}",
        "lat": 31.467000 + n / 1000 + 0.000321,
        "long": 104.679000 + n / 1000 + 0.000123,
    }


def case_body(p: dict[str, Any]) -> str:
    return (
        f"我是{p['name']}，住在{p['address']}，身份证{p['id']}，手机{p['phone']}，"
        f"座机{p['landline']}，邮箱{p['email']}，银行卡{p['card']}。"
        f"{p['name']}反映：{p['house']}楼下夜间施工扰民，请尽快处理。"
    )


def values_of(p: dict[str, Any]) -> list[str]:
    keys = ("name", "phone", "email", "id", "card", "landline", "address", "house")
    return [p[k] for k in keys] + [f"{p['lat']:.6f}", f"{p['long']:.6f}"]


CONTENT_SECRETS = {
    "mobile": "13698765432",
    "id": "11010519491231002X",
    "legacy_id": "110105491231002",
    "card": "6222021234567890128",
    "email": "leak.me@qq.com",
    "mobile_title": "18912340000",
    "html_email": "hidden.in.href@qq.com",
    "html_mobile": "17712349876",
}


def item(title: str, body: str) -> dict[str, Any]:
    return {**notice(0), "title": title, "body_text": body}


CONTENTS = {
    "clean": item("关于开展政府网站检查的通知", "各单位：请按要求做好网站检查工作。"),
    "personal": item(
        "关于补发社保卡的通知",
        f"申请人身份证{CONTENT_SECRETS['id']}，旧证{CONTENT_SECRETS['legacy_id']}，"
        f"手机{CONTENT_SECRETS['mobile']}，卡号{CONTENT_SECRETS['card']}，"
        f"邮箱{CONTENT_SECRETS['email']}。",
    ),
    "title_only": item(f"请{CONTENT_SECRETS['mobile_title']}机主到窗口领取证件", "详见窗口公告。"),
    "override_personal": item(
        "关于打击六合彩的通报", f"举报人手机{CONTENT_SECRETS['mobile']}，已核实六合彩窝点。"
    ),
    "html_only": {  # only the HTML carries it (a mailto link, a title attribute)
        **notice(0),
        "title": "关于窗口服务时间调整的通知",
        "body_text": None,
        "body_html": f'<p>咨询请联系<a href="mailto:{CONTENT_SECRETS["html_email"]}" '
        f'title="{CONTENT_SECRETS["html_mobile"]}">经办人</a>。</p>',
    },
    "override_clean": item(
        "关于打击六合彩违法犯罪的通报", "公安机关依法查处六合彩窝点，信箱xinxi@sc.gov.cn。"
    ),
}


# --- helpers --------------------------------------------------------------------------------


class Outputs:
    """Every public response body, kept as text (and JSON re-encoded without escapes)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    def add(self, label: str, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        forms = [text, html.unescape(text)]
        try:
            forms.append(json.dumps(orjson.loads(raw), ensure_ascii=False))
        except orjson.JSONDecodeError:
            pass
        self.bodies.append((label, "\n".join(forms)))

    async def get(self, http: httpx.AsyncClient, url: str, **params: Any) -> httpx.Response:
        response = await http.get(url, params=params or None)
        assert response.status_code < 500, (url, response.status_code, response.text[:300])
        self.add(f"GET {url} {params or ''}", response.content)
        return response


# Identifiers, hashes, cursors and signatures: long runs mixing letters and digits.
_TOKENS = re.compile(r"[A-Za-z0-9_\-+/=]*(?:[A-Za-z][0-9]|[0-9][A-Za-z])[A-Za-z0-9_\-+/=]*")


# Scores and coordinates: a float's long fraction is not a card number.
_FLOATS = re.compile(r"\d+\.\d{6,}")


def detector_hits(text: str) -> list[str]:
    cleaned = _TOKENS.sub(lambda m: " " if len(m[0]) >= 20 else m[0], text)
    cleaned = _FLOATS.sub(" ", cleaned)
    kinds = ("id_number", "bank_card", "mobile", "landline", "email")
    hits = [cleaned[s.start : s.end] for s in find_personal_data(cleaned, kinds=kinds)]
    return [h for h in hits if not h.endswith(".gov.cn")]  # official mailboxes are public


async def published(hub: HubClient, content_id: str) -> bool:
    return (await hub.content(content_id))["status"] == "published"


async def submit_case(
    hub: HubClient, form_token: str, p: dict[str, Any], publicity: str, title: str
) -> str:
    body = {
        "kind": "complaint",
        "title": title,
        "body": case_body(p),
        "name": p["name"],
        "phone": p["phone"],
        "email": p["email"],
        "address": p["address"],
        "lat": p["lat"],
        "long": p["long"],
        "publicity": publicity,
        "form_token": form_token,
    }
    response = await hub.http.post("/api/v1/cases", json=body)
    assert response.status_code == 201, response.text
    return response.json()["number"]


async def handle(hub: HubClient, number: str, p: dict[str, Any], office: dict[str, str]) -> None:
    """Accept, dispatch, start and reply (the office acting for the department), approve."""
    reply = {
        "text": f"已电话联系{p['phone']}的来信人{p['name']}，{p['house']}的施工已叫停。",
        "outcome": "resolved",
        "reason": "已解决",
    }
    steps = [
        ("accept", None),
        ("dispatch", {"lead_department": DEPARTMENT}),
        ("start", None),
        ("reply", reply),
        ("reply/approve", None),
    ]
    for step, payload in steps:
        response = await hub.http.post(
            f"/api/v1/cases/{number}/{step}", json=payload, headers=office
        )
        assert response.status_code in (200, 201, 204), (step, response.text)


# --- the test -------------------------------------------------------------------------------


async def test_no_personal_data_in_any_public_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITCHEN_OUTBOUND_ALLOW", "127.0.0.1")  # the webhook receiver is local
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        hub = HubClient(stack.config.url("gateway"))
        try:
            async with webhook_receiver(WEBHOOK_SECRET) as (hook_url, received):
                await run(hub, hook_url, received)
        finally:
            await hub.close()


async def run(hub: HubClient, hook_url: str, received: Any) -> None:
    admin, office = await hub.login("admin"), await hub.login("office")
    endpoint = await hub.http.post(
        "/api/v1/webhook-endpoints", headers=admin, json={"url": hook_url, "secret": WEBHOOK_SECRET}
    )
    assert endpoint.status_code == 201, endpoint.text
    department = await hub.http.put(
        f"/api/v1/departments/{DEPARTMENT}",
        json={"code": DEPARTMENT, "name": "市政府办公室"},
        headers=admin,
    )
    assert department.status_code == 200, department.text

    # Contents: start them all, then the cases while review's machine checks run.
    ids = {key: (await hub.submit(body))["id"] for key, body in CONTENTS.items()}
    form_token = (await hub.http.get("/api/v1/cases/form")).json()["form_token"]
    await asyncio.sleep(5.2)  # a person spends a few seconds on the form

    secrets: list[str] = list(CONTENT_SECRETS.values())
    plan = [  # (publicity, how far it goes)
        ("public", "published"),
        ("public", "published"),
        ("anonymous", "published"),
        ("public", "drafted"),
        ("public", "replied"),
        ("public", "received"),
        ("private", "replied"),
        ("private", "received"),
    ]
    cases: dict[str, str] = {}
    for n, (publicity, stage) in enumerate(plan):
        p = person(n)
        secrets += values_of(p)
        number = await submit_case(hub, form_token, p, publicity, f"反映夜间施工扰民问题（{n}）")
        cases[number] = stage
        if stage == "received":
            continue
        await handle(hub, number, p, office)
        if stage in ("published", "drafted"):
            draft = await hub.http.post(
                f"/api/v1/cases/{number}/publication", json={}, headers=office
            )
            assert draft.status_code == 200, draft.text
        if stage == "published":
            approved = await hub.http.post(
                f"/api/v1/cases/{number}/publication/approve", headers=admin
            )
            assert approved.status_code == 200, approved.text

    # A private complaint over Open311, with name, mobile, address and coordinates.
    key = await hub.http.post(
        "/api/v1/api-keys", json={"name": "311", "scopes": ["cases:submit"]}, headers=admin
    )
    assert key.status_code == 201, key.text
    p = person(len(plan))
    secrets += values_of(p)
    filed = await hub.http.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key.json()["key"],
            "service_code": "complaint",
            "description": case_body(p),
            "first_name": p["name"][2:],
            "last_name": p["name"][:2],
            "phone": p["phone"],
            "email": p["email"],
            "address_string": p["address"],
            "lat": str(p["lat"]),
            "long": str(p["long"]),
        },
    )
    assert filed.status_code == 201, filed.text
    cases[filed.json()[0]["service_request_id"]] = "open311"

    # Review: personal data blocks at every stage, and no override lets it through.
    await hub.approve_all_stages(ids["clean"])
    for key_ in ("personal", "title_only", "override_personal", "html_only"):
        task = await hub.task_for(ids[key_], "reviewer1")
        assert (await hub.decide(task["id"], "reviewer1")).status_code == 409
        override = await hub.http.post(
            f"/api/v1/reviews/{task['id']}/decisions",
            json={"decision": "approve", "comment": "同意", "override_reason": "已征得本人同意"},
            headers=await hub.login("reviewer3"),
        )
        assert override.status_code == 409 and "personal." in override.text, override.text
    task = await hub.task_for(ids["override_clean"], "reviewer3")
    override = await hub.http.post(
        f"/api/v1/reviews/{task['id']}/decisions",
        json={"decision": "approve", "comment": "同意", "override_reason": "反诈宣传引用原文"},
        headers=await hub.login("reviewer3"),
    )
    assert override.status_code in (200, 201), override.text
    for reviewer in ("reviewer1", "reviewer2"):
        assert (await hub.decide(task["id"], reviewer)).status_code in (200, 201)
    for key_ in ("clean", "override_clean"):
        await wait_for(lambda key_=key_: published(hub, ids[key_]), within=30)

    async def hooked() -> bool:
        seen = {p_.get("data", p_).get("content_id") for p_ in received.by_id.values()}
        return {ids["clean"], ids["override_clean"]} <= seen

    await wait_for(hooked, within=30)

    # Read every public output, anonymously.
    out = Outputs()
    http = httpx.AsyncClient(base_url=str(hub.http.base_url), timeout=30)
    try:
        await read_everything(out, http, ids, cases, secrets)
    finally:
        await http.aclose()
    for payload in received.by_id.values():
        out.add("webhook", orjson.dumps(payload))

    # The outlets did show the published items and cases, masked: the checks below are not empty.
    everything = "\n".join(body for _, body in out.bodies)
    assert CONTENTS["override_clean"]["title"] in everything and "xinxi@sc.gov.cn" in everything
    assert (
        "139****5601" in everything and "欧**" in everything and "110***********002X" in everything
    )
    assert "四川省成都市武侯区人民南路四段**" in everything  # the street stays, the house goes
    assert detector_hits(f"电话{PEOPLE[0]['phone']}，卡{PEOPLE[0]['card']}") != []

    leaks = [(label, value) for label, body in out.bodies for value in secrets if value in body]
    assert leaks == [], leaks[:20]
    found = [(label, hits) for label, body in out.bodies if (hits := detector_hits(body))]
    assert found == [], found[:20]
    print(
        f"\ncorpus: {len(CONTENTS)} contents, {len(cases)} cases, {len(set(secrets))} personal"
        f" values; {len(out.bodies)} public responses read, no leak"
    )


async def read_everything(
    out: Outputs,
    http: httpx.AsyncClient,
    ids: dict[str, str],
    cases: dict[str, str],
    secrets: list[str],
) -> None:
    published_items = {ids["clean"], ids["override_clean"]}
    listed = await out.get(http, f"/api/v1/sites/{SITE}/columns/{COLUMN}/items", limit=100)
    assert {i["id"] for i in listed.json()["items"]} == published_items
    for content_id in ids.values():
        page = await out.get(http, f"/api/v1/sites/{SITE}/items/{content_id}")
        assert (page.status_code == 200) == (content_id in published_items), page.text[:200]
    for fmt in ("rss", "atom", "json"):
        feed = await out.get(http, f"/feeds/{SITE}/{COLUMN}.{fmt}")
        assert feed.status_code == 200
    changes = await out.get(http, "/api/v1/changes")
    assert changes.status_code == 200
    for q in ("通知", "六合彩", "社保卡", *CONTENT_SECRETS.values()):
        search = await out.get(http, f"/api/v1/sites/{SITE}/search", q=q)
        assert search.status_code == 200, search.text[:200]

    shown = {n for n, stage in cases.items() if stage == "published"}
    open311 = await out.get(http, "/open311/v2/requests.json")
    assert {r["service_request_id"] for r in open311.json()} == shown
    assert all(r["address"] and "号" not in r["address"] for r in open311.json())
    await out.get(http, "/open311/v2/requests.json", service_request_id=",".join(cases))
    for number, stage in cases.items():
        one = await out.get(http, f"/open311/v2/requests/{number}.json")
        assert (one.status_code == 200) == (stage == "published"), (number, stage)
        public = await out.get(http, f"/api/v1/cases/{number}")
        assert (public.status_code == 200) == (stage == "published"), (number, stage)
    listed_cases = await out.get(http, "/api/v1/cases", limit=100)
    assert {c["number"] for c in listed_cases.json()["items"]} == shown
    for q in ("施工", "扰民", *sorted(set(secrets))[:40]):
        await out.get(http, "/api/v1/cases", q=q)
    today = date.today()
    start, end = (today - timedelta(days=2)).isoformat(), (today + timedelta(days=2)).isoformat()
    stats = await out.get(http, "/api/v1/statistics", **{"from": start, "to": end})
    assert stats.status_code == 200 and stats.json()["total"]["received"] == len(cases)
    await out.get(http, "/api/v1/departments")
