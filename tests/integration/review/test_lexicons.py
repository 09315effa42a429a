"""Lexicon administration: versions, line-numbered refusals, new versions used without restart."""

from __future__ import annotations

from sqlalchemy import func, select

from services.review.models import Lexicon, LexiconVersion
from tests.integration.review.conftest import ADMIN, EDITOR, R1, ReviewHarness

TEXT_PLAIN = {"content-type": "text/plain; charset=utf-8"}


async def rows(review: ReviewHarness) -> tuple[int, int]:
    async with review.app.state.db.sessions() as session:
        lexicons = (await session.execute(select(func.count()).select_from(Lexicon))).scalar_one()
        versions = (
            await session.execute(select(func.count()).select_from(LexiconVersion))
        ).scalar_one()
    return int(lexicons), int(versions)


async def test_demo_lexicons_are_seeded_and_listed(review: ReviewHarness) -> None:
    listed = (await review.client.get("/api/v1/lexicons", headers=R1)).json()["items"]
    kinds = {x["kind"] for x in listed}
    assert kinds == {"sensitive", "classification", "wording", "typo"}
    wording = (await review.client.get("/api/v1/wording", headers=EDITOR)).json()["items"]
    assert {w["kind"] for w in wording} == {"wording", "typo"}
    pairs = {e["term"]: e["suggestion"] for w in wording for e in w["entries"]}
    assert pairs["再接再励"] == "再接再厉"


async def test_create_upload_and_use_without_restart(review: ReviewHarness) -> None:
    body = {"name": "local-terms", "kind": "sensitive", "category": "local", "text": "某某违禁词"}
    created = await review.client.post("/api/v1/lexicons", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["severity"]) == (1, "block")

    first = await review.ingest(body_text="本文含有某某违禁词和新违禁词。")
    findings = (await review.task_of(first.content_id))["findings"]
    assert [f["text"] for f in findings] == ["某某违禁词"]

    upload = await review.client.post(
        "/api/v1/lexicons/local-terms/versions",
        content="某某违禁词\n新违禁词\n".encode(),
        headers={**ADMIN, **TEXT_PLAIN},
    )
    assert upload.status_code == 201 and upload.json()["version"] == 2
    builds = review.checks.matchers.builds
    second = await review.ingest(body_text="本文含有某某违禁词和新 违 禁 词。")
    third = await review.ingest(body_text="再来一次新违禁词。")
    assert review.checks.matchers.builds == builds + 1  # rebuilt once for version 2, then reused
    found = [f["text"] for f in (await review.task_of(second.content_id))["findings"]]
    assert found == ["某某违禁词", "新 违 禁 词"]
    assert len((await review.task_of(third.content_id))["findings"]) == 1

    old = await review.client.get("/api/v1/lexicons/local-terms/versions/1", headers=ADMIN)
    assert [e["term"] for e in old.json()["entries"]] == ["某某违禁词"]

    off = await review.client.patch(
        "/api/v1/lexicons/local-terms", json={"active": False}, headers=ADMIN
    )
    assert off.json()["active"] is False
    fourth = await review.ingest(body_text="新违禁词不再拦截。")
    assert (await review.task_of(fourth.content_id))["findings"] == []


async def test_malformed_upload_names_the_line_and_changes_nothing(review: ReviewHarness) -> None:
    before = await rows(review)
    bad = await review.client.post(
        "/api/v1/lexicons/typos-demo/versions",
        content="按装 => 安装\n缺少右边\n既使 => 即使\n相同 => 相同".encode(),
        headers={**ADMIN, **TEXT_PLAIN},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in bad.json()["errors"]] == ["line 2", "line 4"]
    assert "line 2" in bad.json()["detail"]
    create = await review.client.post(
        "/api/v1/lexicons",
        json={"name": "x", "kind": "wording", "category": "w", "text": "a => b\nc"},
        headers=ADMIN,
    )
    assert create.status_code == 422 and create.json()["errors"][0]["field"] == "line 2"
    dup = await review.client.post(
        "/api/v1/lexicons",
        json={"name": "gambling", "kind": "sensitive", "category": "g", "text": "赌"},
        headers=ADMIN,
    )
    assert dup.status_code == 409
    bad_kind = await review.client.post(
        "/api/v1/lexicons",
        json={"name": "y", "kind": "nonsense", "category": "g", "text": "赌"},
        headers=ADMIN,
    )
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "body.kind"
    not_utf8 = await review.client.post(
        "/api/v1/lexicons/gambling/versions", content="赌".encode("gbk"), headers=ADMIN
    )
    assert not_utf8.status_code == 422
    forbidden = await review.client.post(
        "/api/v1/lexicons/gambling/versions", content=b"x", headers={**R1, **TEXT_PLAIN}
    )
    assert forbidden.status_code == 403
    missing = await review.client.post(
        "/api/v1/lexicons/nope/versions", content=b"x", headers={**ADMIN, **TEXT_PLAIN}
    )
    assert missing.status_code == 404
    assert await rows(review) == before


async def test_demo_checks_on_a_dirty_item(review: ReviewHarness) -> None:
    body = (
        "中华人民共合国各部门：要再接再励。本文为内部资料。\n"
        "联系人身份证11010519491231002X，手机13812345678。\n"
        "欢迎访问六 合 彩投注官网 http://dead.example.com/x 。"
    )
    data = await review.ingest(body_text=body, kind="policy", doc_number=None)
    queued = await review.task_of(data.content_id)
    assert queued["link_check"] == "pending"
    assert "link.broken" not in {f["rule"] for f in queued["findings"]}
    assert await review.run_link_checks() == 1
    task = await review.task_of(data.content_id)
    assert task["link_check"] == "done"
    got = {(f["rule"], f["text"], f["severity"]) for f in task["findings"]}
    assert ("wording:wording-demo", "中华人民共合国", "block") in got
    assert ("typo:typos-demo", "再接再励", "warn") in got
    assert ("classification:classification-marks", "内部资料", "block") in got
    assert ("personal.id_number", "11010519491231002X", "block") in got
    assert ("personal.mobile", "13812345678", "block") in got
    assert ("sensitive:gambling", "六 合 彩", "block") in got
    assert ("sensitive:gambling", "投注官网", "block") in got
    assert ("advertising.link_outside_allowlist", "http://dead.example.com/x", "block") in got
    assert ("link.broken", "http://dead.example.com/x", "warn") in got
    assert ("completeness.missing", "doc_number", "warn") in got
    for f in task["findings"]:
        if f["field"] == "body_text":
            assert body[f["start"] : f["end"]] == f["text"]
    assert task["confidentiality_required"] is True
    assert task["blocking_findings"] == sum(f["severity"] == "block" for f in task["findings"])


async def test_draft_check_stores_nothing(review: ReviewHarness) -> None:
    draft = {"title": "通知", "body_text": "请勿参与網上博彩，见 http://dead.gov.cn/x"}
    draft |= {"publisher": "办公厅", "check_links": True}
    response = await review.client.post("/api/v1/checks", json=draft, headers=EDITOR)
    assert response.status_code == 200, response.text
    rules = [f["rule"] for f in response.json()["findings"]]
    assert rules == ["sensitive:gambling", "link.broken"] and response.json()["blocking"] == 1
    assert await review.outbox() == []
    refused = await review.client.post("/api/v1/checks", json={"bogus": 1}, headers=EDITOR)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.bogus"


async def test_a_mark_inside_other_words_neither_blocks_nor_routes(review: ReviewHarness) -> None:
    data = await review.ingest(body_text="泵体采用有机密封材料，杜绝密码泄露。")
    task = await review.task_of(data.content_id)
    assert task["findings"] == [] and task["confidentiality_required"] is False
    marked = await review.ingest(body_text="机密★一年\n会议纪要。")
    task = await review.task_of(marked.content_id)
    assert [f["text"] for f in task["findings"]] == ["机密"]
    assert task["confidentiality_required"] is True
