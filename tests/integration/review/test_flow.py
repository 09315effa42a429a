"""The issue-2 flow: a new version opens a three-stage task; three reviewers sign; events out."""

from __future__ import annotations

from sqlalchemy import func, select

from common.testing import staff
from services.review.models import Decision, ReviewTask
from tests.integration.review.conftest import ADMIN, EDITOR, R1, R2, R3, ReviewHarness


async def count(review: ReviewHarness, model: type) -> int:
    async with review.app.state.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_three_stages_approve_and_announce(review: ReviewHarness) -> None:
    data = await review.ingest()
    started = await review.outbox("review.started")
    assert len(started) == 1
    assert started[0]["data"]["stages"] == ["初审", "复审", "终审"]
    assert started[0]["subject"] == data.content_id

    task = await review.task_of(data.content_id)
    assert (task["status"], task["stage"], task["version"]) == ("in_review", "初审", 1)
    assert task["findings"] == [] and task["title"] == data.title
    assert task["body_text"] == data.body_text

    queue = (await review.client.get("/api/v1/reviews", headers=R1)).json()
    assert [t["id"] for t in queue["items"]] == [task["id"]]

    for n, headers in enumerate((R1, R2, R3)):
        response = await review.decide(task["id"], headers)
        assert response.status_code == 201, response.text
        assert response.json()["decisions"][-1]["actor"] == f"reviewer{n + 1}"
        if n < 2:
            assert await review.outbox("review.decided") == []

    final = (await review.client.get(f"/api/v1/reviews/{task['id']}", headers=EDITOR)).json()
    assert final["status"] == "approved"
    assert [d["stage"] for d in final["decisions"]] == ["初审", "复审", "终审"]
    decided = await review.outbox("review.decided")
    assert len(decided) == 1
    event = decided[0]["data"]
    assert event["decision"] == "approved" and event["stage"] == "终审"
    assert (event["version"], event["content_hash"]) == (1, data.content_hash)
    assert event["decided_by"] == "reviewer3"

    listed = await review.client.get(
        "/api/v1/reviews", params={"content_id": data.content_id}, headers=EDITOR
    )
    assert [len(t["decisions"]) for t in listed.json()["items"]] == [3]
    assert listed.json()["items"][0]["findings"] == []


async def test_refusals_change_nothing(review: ReviewHarness) -> None:
    data = await review.ingest(author="reviewer1")
    task = await review.task_of(data.content_id)
    tid = task["id"]
    author = await review.decide(tid, R1)
    assert author.status_code == 403
    assert author.headers["content-type"] == "application/problem+json"
    assert (await review.decide(tid, ADMIN)).status_code == 403  # admin is no reviewer
    assert (await review.decide(tid, EDITOR)).status_code == 403
    assert (
        await review.client.post(f"/api/v1/reviews/{tid}/decisions", json={})
    ).status_code == 401
    bad = await review.decide(tid, R2, decision="maybe")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.decision"
    no_reason = await review.decide(tid, R2, decision="reject", comment=" ")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "comment"
    assert (await review.decide("nope", R2)).status_code == 404
    assert await count(review, Decision) == 0

    assert (await review.decide(tid, R2)).status_code == 201
    twice = await review.decide(tid, R2)  # one person never signs two stages
    assert twice.status_code == 403
    stale = await review.decide(tid, R3, stage="初审")
    assert stale.status_code == 409
    admin_reviewer = staff("admin2", ("admin", "reviewer"))
    assert (await review.decide(tid, admin_reviewer)).status_code == 201
    assert (await review.decide(tid, R3)).status_code == 201
    again = await review.decide(tid, staff("reviewer4", ("reviewer",)))
    assert again.status_code == 409  # deciding on a finished task
    assert await count(review, Decision) == 3


async def test_reject_and_return_announce(review: ReviewHarness) -> None:
    first = await review.ingest()
    second = await review.ingest()
    t1 = await review.task_of(first.content_id)
    t2 = await review.task_of(second.content_id)
    assert (await review.decide(t1["id"], R1, "reject", comment="内容不实")).status_code == 201
    await review.decide(t2["id"], R1)
    assert (await review.decide(t2["id"], R2, "return", comment="请补充附件")).status_code == 201
    decided = {e["data"]["content_id"]: e["data"] for e in await review.outbox("review.decided")}
    assert decided[first.content_id]["decision"] == "rejected"
    assert decided[first.content_id]["comment"] == "内容不实"
    assert decided[second.content_id]["decision"] == "returned"
    assert decided[second.content_id]["stage"] == "复审"


async def test_new_version_supersedes_and_restarts(review: ReviewHarness) -> None:
    v1 = await review.ingest()
    t1 = await review.task_of(v1.content_id)
    await review.decide(t1["id"], R1)
    v2 = await review.ingest(content_id=v1.content_id, version=2, body_text="新的正文。")
    await review.deliver(v1)  # a redelivered older version changes nothing
    t2 = await review.task_of(v1.content_id)
    assert (t2["version"], t2["stage"], t2["decisions"]) == (2, "初审", [])
    old = await review.decide(t1["id"], R2)
    assert old.status_code == 409 and old.json()["errors"][0]["field"] == "version"
    assert (await review.decide(t2["id"], R1)).status_code == 201
    async with review.app.state.db.sessions() as session:
        rows = (await session.execute(select(ReviewTask.version, ReviewTask.status))).all()
    assert sorted(rows) == [(1, "superseded"), (2, "in_review")]
    assert len(await review.outbox("review.started")) == 2
    assert v2.version == 2


async def test_unauthenticated_and_unknown(review: ReviewHarness) -> None:
    assert (await review.client.get("/api/v1/reviews")).status_code == 401
    assert (await review.client.get("/api/v1/reviews/x", headers=R1)).status_code == 404
    forged = {**R1, "x-kitchen-actor-signature": "0" * 64}
    assert (await review.client.get("/api/v1/reviews", headers=forged)).status_code == 401
    nobody = staff("someone", ("handler",))
    assert (await review.client.get("/api/v1/reviews", headers=nobody)).status_code == 403


async def test_factory_defaults_build_link_checker_in_lifespan(database_url: str) -> None:
    from asgi_lifespan import LifespanManager

    from services.review.app import create_app
    from tests.integration.review.conftest import make_settings

    app = create_app(make_settings(database_url))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        assert app.state.deps.checks.links is not None
        await app.state.deps.checks.aclose()
