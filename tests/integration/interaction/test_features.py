"""Publication with masking, knowledge base, surveys, interviews, statistics."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.interaction.clock import FixedClock, shanghai
from services.interaction.models import Case, Redaction
from tests.integration.interaction.conftest import HANDLER, OFFICE, OFFICE2, submit
from tests.integration.interaction.helpers import count, outbox

PERSONAL = (
    "我叫张三，手机13812345678，也可打13812345678或139-1234-5678；"
    "身份证11010519491231002X；卡号6222021234567890128；邮箱zs@example.com；座机010-12345678。"
)


async def replied_case(client: httpx.AsyncClient, clock: FixedClock, **overrides: object) -> dict:
    created = await submit(client, clock, **overrides)
    number = created["number"]
    await client.post(f"/api/v1/cases/{number}/accept", headers=OFFICE)
    await client.post(
        f"/api/v1/cases/{number}/dispatch", json={"lead_department": "edu"}, headers=OFFICE
    )
    await client.post(f"/api/v1/cases/{number}/start", headers=HANDLER)
    reply = {
        "text": "已联系13812345678的来信人，增设协管员两名。",
        "outcome": "resolved",
        "reason": "已解决",
    }
    await client.post(f"/api/v1/cases/{number}/reply", json=reply, headers=HANDLER)
    await client.post(f"/api/v1/cases/{number}/reply/approve", headers=OFFICE)
    return created


async def test_publication_masks_every_occurrence(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await replied_case(client, clock, body=PERSONAL)
    number = created["number"]
    draft = await client.post(f"/api/v1/cases/{number}/publication", json={}, headers=OFFICE)
    assert draft.status_code == 200 and draft.json()["status"] == "draft"
    body = draft.json()["body"]
    assert body.count("138****5678") == 2 and "139****5678" in body
    assert "110***********002X" in body and "622202*********0128" in body
    assert "z***@example.com" in body and "010-****5678" in body
    assert draft.json()["author"] == "张**" and "138****5678" in draft.json()["reply"]
    assert (await client.get(f"/api/v1/cases/{number}")).status_code == 404  # not approved yet
    same_person = await client.post(f"/api/v1/cases/{number}/publication/approve", headers=OFFICE)
    assert same_person.status_code == 403
    approved = await client.post(f"/api/v1/cases/{number}/publication/approve", headers=OFFICE2)
    assert approved.json()["status"] == "approved"

    public = await client.get(f"/api/v1/cases/{number}")
    assert public.status_code == 200 and "13812345678" not in public.text
    listed = (await client.get("/api/v1/cases", params={"q": "协管员"})).json()["items"]
    assert [i["number"] for i in listed] == [number]
    assert (await client.get("/api/v1/cases", params={"q": "13812345678"})).json()["items"] == []
    log = (await client.get(f"/api/v1/cases/{number}/redactions", headers=OFFICE)).json()["items"]
    assert sorted({e["kind"] for e in log}) == [
        "bank_card",
        "email",
        "id_number",
        "landline",
        "mobile",
        "name",  # the citizen's own name (张三) wherever it recurs
    ]
    assert await count(app, Redaction) == len(log) == 9
    assert "张三" not in public.text
    sealed = (await client.get(f"/api/v1/cases/{number}?token={created['token']}")).json()
    assert sealed["body"] == PERSONAL  # the original is kept
    assert (await outbox(app))[-1]["topic"] == "case.published"


async def test_private_cases_are_never_published(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await replied_case(client, clock, publicity="private")
    refused = await client.post(
        f"/api/v1/cases/{created['number']}/publication", json={}, headers=OFFICE
    )
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "publicity"


async def test_knowledge_suggestions_skip_lapsed(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    valid = {
        "question": "学校门口交通拥堵怎么办？",
        "answer": "可向交警部门申请协管员。",
        "tags": ["交通", "学校"],
    }
    lapsed = {**valid, "answer": "旧政策", "valid_from": "2020-01-01", "valid_until": "2024-12-31"}
    other = {"question": "社保卡如何补办？", "answer": "到社保窗口办理。", "tags": ["社保"]}
    for entry in (valid, lapsed, other):
        assert (
            await client.post("/api/v1/knowledge", json=entry, headers=OFFICE)
        ).status_code == 201
    created = await replied_case(
        client, clock, title="学校门口交通拥堵", body="放学时学校门口交通拥堵严重。"
    )
    items = (
        await client.get(f"/api/v1/cases/{created['number']}/suggestions", headers=HANDLER)
    ).json()["items"]
    assert [i["answer"] for i in items] == ["可向交警部门申请协管员。"]
    entry = await client.post(
        f"/api/v1/knowledge/from-case/{created['number']}", json={"tags": ["交通"]}, headers=HANDLER
    )
    assert (
        entry.status_code == 201 and "13812345678" not in entry.text and entry.json()["source_case"]
    )
    public = (await client.get("/api/v1/knowledge", params={"q": "社保卡补办"})).json()["items"]
    assert public[0]["question"] == "社保卡如何补办？"


SURVEY = {
    "title": "关于公交线路调整的意见征集",
    "kind": "solicitation",
    "questions": [
        {"id": "route", "type": "single", "text": "您常坐哪条线路？", "options": ["1路", "2路"]},
        {
            "id": "needs",
            "type": "multiple",
            "text": "您希望改进什么？",
            "options": ["班次", "站点", "票价"],
        },
        {"id": "score", "type": "rating", "text": "满意度", "required": False},
        {
            "id": "advice",
            "type": "text",
            "text": "其他建议",
            "required": False,
            "publish_text": True,
        },
        {"id": "contact", "type": "text", "text": "联系方式", "required": False},
    ],
    "opens_at": "2025-09-26T00:00:00+08:00",
    "closes_at": "2025-10-26T00:00:00+08:00",
    "one_per": "session",
}


async def test_survey_window_once_per_session_results_masked(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    survey = (await client.post("/api/v1/surveys", json=SURVEY, headers=OFFICE)).json()
    sid = survey["id"]
    assert (await client.get(f"/api/v1/surveys/{sid}")).status_code == 404  # draft
    assert (await client.post(f"/api/v1/surveys/{sid}/publish", headers=OFFICE)).json()[
        "phase"
    ] == "open"
    answer = {
        "route": "1路",
        "needs": ["班次", "站点"],
        "score": 4,
        "advice": "请打13812345678联系我",
        "contact": "zs@example.com",
    }
    first = await client.post(
        f"/api/v1/surveys/{sid}/responses", json={"answers": answer, "session_id": "session-aaaa"}
    )
    assert first.status_code == 201
    twice = await client.post(
        f"/api/v1/surveys/{sid}/responses", json={"answers": answer, "session_id": "session-aaaa"}
    )
    assert twice.status_code == 409
    bad = await client.post(
        f"/api/v1/surveys/{sid}/responses",
        json={"answers": {**answer, "route": "9路"}, "session_id": "session-bbbb"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "answers.route"
    await client.post(
        f"/api/v1/surveys/{sid}/responses",
        json={"answers": {"route": "2路", "needs": ["票价"]}, "session_id": "session-cccc"},
    )
    assert (await client.get(f"/api/v1/surveys/{sid}/results")).status_code == 422  # not yet public
    early = await client.post(
        f"/api/v1/surveys/{sid}/result", json={"summary": "x", "adopted": 1}, headers=OFFICE
    )
    assert early.status_code == 409
    clock.set(shanghai(2025, 10, 27))
    closed = await client.post(
        f"/api/v1/surveys/{sid}/responses", json={"answers": answer, "session_id": "session-dddd"}
    )
    assert closed.status_code == 409
    report = {
        "summary": "收到2条意见，采纳1条：增加1路班次。",
        "adopted": 1,
        "not_adopted_reasons": ["票价由省级统一定价"],
    }
    assert (
        await client.post(f"/api/v1/surveys/{sid}/result", json=report, headers=OFFICE)
    ).status_code == 200
    results = (await client.get(f"/api/v1/surveys/{sid}/results")).json()
    by_id = {q["id"]: q for q in results["questions"]}
    assert results["received"] == 2 and results["adoption"]["adopted"] == 1
    assert (
        by_id["route"]["counts"] == {"1路": 1, "2路": 1} and by_id["needs"]["counts"]["班次"] == 1
    )
    assert by_id["advice"]["texts"] == ["请打138****5678联系我"]
    assert "texts" not in by_id["contact"] and "zs@example.com" not in str(results)


async def test_interview_transcript_and_open_questions(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    body = {
        "title": "教育局长谈招生",
        "guests": ["李局长"],
        "site": "city",
        "department": "edu",
        "starts_at": "2025-09-30T10:00:00+08:00",
    }
    iid = (await client.post("/api/v1/interviews", json=body, headers=OFFICE)).json()["id"]
    asked = []
    for text in (
        "今年招生政策有何变化？我电话13812345678",
        "学区如何划分？",
        "同上，学区问题",
        "谢谢局长",
    ):
        asked.append(
            (
                await client.post(
                    f"/api/v1/interviews/{iid}/questions",
                    json={"text": text, "name": "王五", "phone": "13912345678"},
                )
            ).json()["id"]
        )
    moderate = f"/api/v1/interviews/{iid}/questions/{{}}/moderation"
    await client.post(moderate.format(asked[0]), json={"action": "pick"}, headers=OFFICE)
    await client.post(moderate.format(asked[1]), json={"action": "approve"}, headers=OFFICE)
    await client.post(
        moderate.format(asked[2]), json={"action": "merge", "into": asked[1]}, headers=OFFICE
    )
    await client.post(
        moderate.format(asked[3]), json={"action": "approve", "substantive": False}, headers=OFFICE
    )
    await client.post(f"/api/v1/interviews/{iid}/live", headers=OFFICE)
    answer = {"guest": "李局长", "answer": "今年实行阳光招生。"}
    assert (
        await client.post(
            f"/api/v1/interviews/{iid}/questions/{asked[0]}/answer", json=answer, headers=OFFICE
        )
    ).status_code == 200
    public = (await client.get(f"/api/v1/interviews/{iid}")).json()
    assert (
        len(public["questions"]) == 3
        and "13812345678" not in str(public)
        and "王五" not in str(public)
    )
    await client.post(f"/api/v1/interviews/{iid}/end", headers=OFFICE)
    draft = (await client.post(f"/api/v1/interviews/{iid}/transcript", headers=OFFICE)).json()
    assert "138****5678" in draft["transcript"] and "阳光招生" in draft["transcript"]
    assert (
        await client.post(f"/api/v1/interviews/{iid}/transcript-approve", headers=OFFICE)
    ).status_code == 403
    done = (
        await client.post(f"/api/v1/interviews/{iid}/transcript-approve", headers=OFFICE2)
    ).json()
    assert done["state"] == "published" and len(done["cases"]) == 1  # 学区如何划分 became a case
    submitted = await outbox(app, "content.submitted")
    assert len(submitted) == 1 and submitted[0]["key"] == done["submission_id"]
    assert (
        submitted[0]["kind"] == "interview"
        and submitted[0]["columns"] == ["interviews"]
        and submitted[0]["site"] == "city"
    )
    assert "13812345678" not in str(submitted)
    assert await count(app, Case) == 1


async def test_statistics_with_formulas(client: httpx.AsyncClient, clock: FixedClock) -> None:
    await replied_case(client, clock)
    await submit(client, clock, title="未受理", body="另一件事的详细描述内容", phone="13900000001")
    stats = (await client.get("/api/v1/statistics?from=2025-09-01&to=2025-09-30")).json()
    total = stats["total"]
    assert (total["received"], total["accepted"], total["replied"], total["on_time"]) == (
        2,
        1,
        1,
        1,
    )
    assert total["handling_rate"] == 1.0 and total["average_working_days_to_reply"] == 0
    assert stats["departments"]["edu"]["replied"] == 1 and "on_time_rate" in stats["formulas"]
