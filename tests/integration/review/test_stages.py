"""Blocking findings and overrides, the 保密 attestation, policies, reprints, queues, deadlines."""

from __future__ import annotations

from datetime import timedelta

from common.events import utcnow
from common.testing import staff
from services.review.queue import send_reminders
from tests.integration.review.conftest import ADMIN, EDITOR, R1, R2, R3, ReviewHarness

OVERRIDER = staff("chief", ("reviewer", "override"))
SECRECY = staff("secrecy", ("confidentiality",))


async def test_blocking_finding_needs_a_written_override(review: ReviewHarness) -> None:
    data = await review.ingest(body_text="请访问六合彩官网。")
    tid = (await review.task_of(data.content_id))["id"]
    blocked = await review.decide(tid, R1)
    assert blocked.status_code == 409 and blocked.json()["errors"][0]["field"] == "findings"
    no_authority = await review.decide(tid, R1, override_reason="误报")
    assert no_authority.status_code == 403
    blank = await review.decide(tid, OVERRIDER, override_reason="  ")
    assert blank.status_code == 422
    assert (
        await review.decide(tid, R1, "reject", comment="x", override_reason="y")
    ).status_code == 422
    assert (await review.task_of(data.content_id))["decisions"] == []

    ok = await review.decide(tid, OVERRIDER, override_reason="“六合彩”为引用的反诈宣传原文")
    assert ok.status_code == 201, ok.text
    assert ok.json()["override"] == {"by": "chief", "reason": "“六合彩”为引用的反诈宣传原文"}
    assert (await review.decide(tid, R2)).status_code == 201  # the override stands for the item
    assert (await review.decide(tid, R3)).status_code == 201
    trail = await review.client.get(
        "/api/v1/audit", params={"subject": data.content_id}, headers=ADMIN
    )
    actions = [e["action"] for e in trail.json()["items"]]
    assert "finding.overridden" in actions


async def test_personal_data_cannot_be_overridden(review: ReviewHarness) -> None:
    """The approved version is published verbatim, so personal data never gets an override."""
    data = await review.ingest(body_text="六合彩举报人手机13812345678。")
    tid = (await review.task_of(data.content_id))["id"]
    for reviewer, reason in ((R1, None), (OVERRIDER, "举报人同意公开")):
        refused = await review.decide(tid, reviewer, override_reason=reason)
        assert refused.status_code == 409, refused.text
        error = refused.json()["errors"][0]
        assert error["field"] == "findings" and "personal.mobile" in refused.json()["detail"]
    task = await review.task_of(data.content_id)
    assert task["decisions"] == [] and task["status"] == "in_review"


async def test_classification_routes_to_the_attestation(review: ReviewHarness) -> None:
    data = await review.ingest(body_text="本件为内部资料，注意保密。")
    tid = (await review.task_of(data.content_id))["id"]
    queue = await review.client.get(
        "/api/v1/reviews", params={"queue": "confidentiality"}, headers=SECRECY
    )
    assert [t["id"] for t in queue.json()["items"]] == [tid]
    assert (await review.decide(tid, R1)).status_code == 409  # the mark blocks until attested
    not_officer = await review.client.post(
        f"/api/v1/reviews/{tid}/attestation", json={"result": "cleared"}, headers=R1
    )
    assert not_officer.status_code == 403
    attested = await review.client.post(
        f"/api/v1/reviews/{tid}/attestation",
        json={"result": "cleared", "comment": "“内部资料”系文中引用，不涉密"},
        headers=SECRECY,
    )
    assert attested.status_code == 201
    assert attested.json()["attestation"]["by"] == "secrecy"
    again = await review.client.post(
        f"/api/v1/reviews/{tid}/attestation", json={"result": "cleared"}, headers=SECRECY
    )
    assert again.status_code == 409
    for headers in (R1, R2, R3):
        assert (await review.decide(tid, headers)).status_code == 201
    decided = await review.outbox("review.decided")
    assert decided[-1]["data"]["decision"] == "approved"


async def test_classified_attestation_rejects(review: ReviewHarness) -> None:
    data = await review.ingest(body_text="秘密★1年 会议纪要")
    tid = (await review.task_of(data.content_id))["id"]
    response = await review.client.post(
        f"/api/v1/reviews/{tid}/attestation",
        json={"result": "classified", "comment": "含密级标志"},
        headers=SECRECY,
    )
    assert response.json()["status"] == "rejected"
    decided = (await review.outbox("review.decided"))[-1]["data"]
    assert (decided["decision"], decided["stage"]) == ("rejected", "保密审查")


async def test_policy_always_requires_attestation_at_the_last_stage(
    review: ReviewHarness,
) -> None:
    policy = {
        "stages": [{"name": "初审", "role": "reviewer"}, {"name": "终审", "role": "reviewer"}],
        "confidentiality": "always",
    }
    put = await review.client.put("/api/v1/review-policies/city/policy", json=policy, headers=ADMIN)
    assert put.status_code == 200, put.text
    data = await review.ingest(site="city", kind="policy")
    task = await review.task_of(data.content_id)
    assert [s["name"] for s in task["stages"]] == ["初审", "终审"]
    assert (await review.decide(task["id"], R1)).status_code == 201
    last = await review.decide(task["id"], R2)
    assert last.status_code == 409 and last.json()["errors"][0]["field"] == "attestation"
    await review.client.post(
        f"/api/v1/reviews/{task['id']}/attestation", json={"result": "cleared"}, headers=SECRECY
    )
    assert (await review.decide(task["id"], R2)).status_code == 201


async def test_policy_admin_and_reprints(review: ReviewHarness) -> None:
    policy = {
        "stages": [
            {"name": "部门初审", "role": "reviewer"},
            {"name": "网站终审", "role": "reviewer"},
            {"name": "领导签发", "role": "reviewer"},
        ],
        "reprint_stages": ["网站终审"],
        "stage_hours": 8,
    }
    assert (
        await review.client.put("/api/v1/review-policies/county/*", json=policy, headers=R1)
    ).status_code == 403
    put = await review.client.put("/api/v1/review-policies/county/*", json=policy, headers=ADMIN)
    assert put.status_code == 200
    effective = await review.client.get("/api/v1/review-policies/county/news", headers=EDITOR)
    assert effective.json()["source"] == "county/*"
    default = await review.client.get("/api/v1/review-policies/other/news", headers=EDITOR)
    assert default.json()["source"] == "default"

    reprint = await review.ingest(site="county", kind="news", is_reprint=True)
    task = await review.task_of(reprint.content_id)
    assert [s["name"] for s in task["stages"]] == ["网站终审"]
    assert (await review.decide(task["id"], R1)).status_code == 201
    assert (await review.outbox("review.decided"))[-1]["data"]["decision"] == "approved"
    original = await review.ingest(site="county", kind="news")
    assert len((await review.task_of(original.content_id))["stages"]) == 3

    bad = {**policy, "reprint_stages": ["不存在"]}
    refused = await review.client.put("/api/v1/review-policies/county/*", json=bad, headers=ADMIN)
    assert refused.status_code == 422
    dup = {"stages": [{"name": "a", "role": "reviewer"}, {"name": "a", "role": "reviewer"}]}
    refused = await review.client.put("/api/v1/review-policies/county/*", json=dup, headers=ADMIN)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.stages"
    bad_site = await review.client.put(
        "/api/v1/review-policies/Bad Site/*", json=policy, headers=ADMIN
    )
    assert bad_site.status_code == 422
    listed = await review.client.get("/api/v1/review-policies", headers=ADMIN)
    assert [p["stages"][0]["name"] for p in listed.json()["items"]] == ["部门初审"]


async def test_queue_urgent_first_claim_and_release(review: ReviewHarness) -> None:
    normal = await review.ingest()
    urgent = await review.ingest(urgent=True)
    mine = await review.ingest(author="reviewer1")
    queue = (await review.client.get("/api/v1/reviews", headers=R1)).json()["items"]
    assert [t["content_id"] for t in queue] == [urgent.content_id, normal.content_id]
    page = (await review.client.get("/api/v1/reviews", params={"limit": 1}, headers=R2)).json()
    assert page["items"][0]["content_id"] == urgent.content_id and page["next_cursor"]
    rest = await review.client.get(
        "/api/v1/reviews", params={"limit": 1, "cursor": page["next_cursor"]}, headers=R2
    )
    assert [t["content_id"] for t in rest.json()["items"]] == [normal.content_id]

    tid = queue[0]["id"]
    assert (await review.client.post(f"/api/v1/reviews/{tid}/claim", headers=R1)).status_code == 200
    taken = await review.client.post(f"/api/v1/reviews/{tid}/claim", headers=R2)
    assert taken.status_code == 409
    assert (await review.decide(tid, R2)).status_code == 409
    r2_queue = (await review.client.get("/api/v1/reviews", headers=R2)).json()["items"]
    assert urgent.content_id not in [t["content_id"] for t in r2_queue]
    claimed = await review.client.get("/api/v1/reviews", params={"queue": "claimed"}, headers=R1)
    assert [t["id"] for t in claimed.json()["items"]] == [tid]
    assert (
        await review.client.post(f"/api/v1/reviews/{tid}/release", headers=R2)
    ).status_code == 403
    assert (
        await review.client.post(f"/api/v1/reviews/{tid}/release", headers=R1)
    ).status_code == 200
    assert (
        await review.client.post(f"/api/v1/reviews/{tid}/release", headers=R1)
    ).status_code == 409
    mine_task = await review.task_of(mine.content_id)
    own = await review.client.post(f"/api/v1/reviews/{mine_task['id']}/claim", headers=R1)
    assert own.status_code == 403
    bad = await review.client.get("/api/v1/reviews", params={"queue": "nope"}, headers=R1)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.queue"
    garbled = await review.client.get("/api/v1/reviews", params={"cursor": "%%%"}, headers=R1)
    assert garbled.status_code == 400


async def test_deadline_reminders_once_per_stage(review: ReviewHarness) -> None:
    data = await review.ingest(urgent=True)
    tid = (await review.task_of(data.content_id))["id"]
    async with review.app.state.db.sessions() as session:
        assert await send_reminders(session, utcnow()) == 0
        assert await send_reminders(session, utcnow() + timedelta(hours=5)) == 1
        assert await send_reminders(session, utcnow() + timedelta(hours=6)) == 0
        await session.commit()
    await review.decide(tid, R1)
    async with review.app.state.db.sessions() as session:
        assert await send_reminders(session, utcnow() + timedelta(hours=5)) == 1
        await session.commit()
    reminders = await review.outbox("review.deadline_passed")
    assert [r["data"]["stage"] for r in reminders] == ["初审", "复审"]
    assert reminders[0]["data"]["task_id"] == tid


async def test_diff_against_previously_approved_version(review: ReviewHarness) -> None:
    v1 = await review.ingest(body_text="第一段。\n第二段。")
    t1 = (await review.task_of(v1.content_id))["id"]
    for headers in (R1, R2, R3):
        await review.decide(t1, headers)
    v2 = await review.ingest(
        content_id=v1.content_id, version=2, body_text="第一段。\n第二段修改。"
    )
    task = await review.task_of(v2.content_id)
    assert task["diff"]["base_version"] == 1
    assert "-第二段。" in task["diff"]["unified"] and "+第二段修改。" in task["diff"]["unified"]
    assert (await review.task_of(v1.content_id, R1))["version"] == 2
    first = await review.client.get(f"/api/v1/reviews/{t1}", headers=R1)
    assert first.json()["diff"] is None
