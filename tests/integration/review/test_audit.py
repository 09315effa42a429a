"""The audit chain: every action appended; tampering (update or delete) is pinpointed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import delete, select, update
from typer.testing import CliRunner, Result

from common.events import utcnow
from kitchen.cli import app as cli
from services.review import audit
from services.review.models import AuditEntry
from tests.integration.review.conftest import ADMIN, R1, R2, ReviewHarness


async def run_cli(args: list[str]) -> Result:
    """The `kitchen` CLI in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, args)


async def verify(review: ReviewHarness) -> dict[str, object]:
    response = await review.client.get("/api/v1/audit/verify", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_history_of_an_item(review: ReviewHarness) -> None:
    data = await review.ingest()
    task = await review.task_of(data.content_id)
    await review.client.post(f"/api/v1/reviews/{task['id']}/claim", headers=R1)
    await review.decide(task["id"], R1)
    response = await review.client.get(
        "/api/v1/audit", params={"subject": data.content_id}, headers=R2
    )
    items = response.json()["items"]
    assert [e["action"] for e in items] == [
        "content.seen", "findings.recorded", "task.opened", "task.claimed", "decision.approve",
    ]  # fmt: skip
    assert items[-1]["actor"] == "reviewer1" and items[-1]["data"]["stage"] == "初审"
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(items, items[1:], strict=False))
    page = await review.client.get(
        "/api/v1/audit", params={"subject": data.content_id, "limit": 2}, headers=R2
    )
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    assert (await review.client.get("/api/v1/audit/verify", headers=R1)).status_code == 403
    assert (await verify(review))["ok"] is True


async def test_altered_row_is_pinpointed(review: ReviewHarness) -> None:
    data = await review.ingest()
    task = await review.task_of(data.content_id)
    await review.decide(task["id"], R1, comment="同意发布")
    async with review.app.state.db.sessions() as session:
        target = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "decision.approve"))
        ).scalar_one()
        seq = target.seq
        forged = target.data.replace("同意发布", "不同意")
        await session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(data=forged))
        await session.commit()
    result = await verify(review)
    assert (result["ok"], result["first_bad_seq"]) == (False, seq)
    assert "hash" in str(result["reason"])


async def test_deleted_row_is_pinpointed(review: ReviewHarness, database_url: str) -> None:
    await review.ingest()
    await review.ingest()
    async with review.app.state.db.sessions() as session:
        await session.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
        await session.commit()
    result = await verify(review)
    assert (result["ok"], result["first_bad_seq"]) == (False, 5)
    assert result["reason"] == "entry 5 is missing"

    outcome = await run_cli(["audit", "verify", "--url", database_url])
    assert outcome.exit_code == 1
    assert orjson.loads(outcome.stdout)["first_bad_seq"] == 5


async def test_removed_tail_and_relinked_row_are_detected(review: ReviewHarness) -> None:
    await review.ingest()
    async with review.app.state.db.sessions() as session:
        last = (
            await session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()))
        ).first()
        assert last is not None
        await session.execute(delete(AuditEntry).where(AuditEntry.seq == last[0]))
        await session.commit()
    result = await verify(review)
    assert (result["ok"], result["first_bad_seq"]) == (False, last[0])


async def test_export_archive_with_chain_head(
    review: ReviewHarness, database_url: str, tmp_path: Path
) -> None:
    await review.ingest()
    await review.ingest()
    async with review.app.state.db.sessions() as session:
        # age the first content's entries (seq 1..3 plus lexicon seeding) by a year
        old = utcnow() - timedelta(days=400)
        await session.execute(update(AuditEntry).where(AuditEntry.seq <= 9).values(at=old))
        # re-hash them as if they had been written then, so the chain stays valid
        rows = list((await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars())
        prev = audit.GENESIS
        for row in rows:
            row.prev_hash = prev
            row.hash = audit.hash_of(row)
            prev = row.hash
        head = await audit.ensure_head(session)
        head.hash = prev
        await session.commit()
    assert (await verify(review))["ok"] is True

    archive = tmp_path / "audit-2023.jsonl"
    outcome = await run_cli(
        ["audit", "export", "--url", database_url, "--out", str(archive), "--prune"]
    )
    assert outcome.exit_code == 0, outcome.stdout
    summary = orjson.loads(outcome.stdout)
    assert (summary["from_seq"], summary["to_seq"], summary["pruned"]) == (1, 9, True)
    lines = archive.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    assert header["chain_head"]["seq"] == 9 and len(lines) == 10
    assert audit.verify_archive(archive).ok
    anchored = await run_cli(["audit", "verify", "--url", database_url, "--anchor", str(archive)])
    assert anchored.exit_code == 0, anchored.stdout  # the archive head is the kept chain's base
    result = await verify(review)
    assert result["ok"] is True and result["checked"] >= 1
    history = await review.client.get("/api/v1/audit", params={"subject": "audit"}, headers=ADMIN)
    exported = history.json()["items"][-1]
    assert exported["action"] == "audit.exported"
    assert exported["data"]["chain_head"]["hash"] == header["chain_head"]["hash"]

    # pruning recent entries is refused: the retention period is six months
    refused = await run_cli(
        ["audit", "export", "--url", database_url, "--out", str(archive), "--prune",
              "--older-than-days", "1"],
    )  # fmt: skip
    assert refused.exit_code != 0


async def rehash_from(review: ReviewHarness, seq: int) -> None:
    """What an attacker with write access does: recompute every hash from `seq` on, and the head."""
    async with review.app.state.db.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
        rows = list((await session.execute(query)).scalars())
        prev = rows[0].prev_hash
        for row in rows:
            row.prev_hash = prev
            row.hash = audit.hash_of(row)
            prev = row.hash
        head = await audit.ensure_head(session)
        head.hash = prev
        await session.commit()


async def test_consistently_rehashed_rewrite_fails_only_against_an_anchor(
    review: ReviewHarness, database_url: str, tmp_path: Path
) -> None:
    data = await review.ingest()
    task = await review.task_of(data.content_id)
    await review.decide(task["id"], R1, comment="同意发布")
    await review.ingest()
    anchor_file = tmp_path / "anchor.json"
    taken = await run_cli(["audit", "head", "--url", database_url, "--out", str(anchor_file)])
    assert taken.exit_code == 0, taken.stdout
    anchor = orjson.loads(anchor_file.read_bytes())
    api_head = (await review.client.get("/api/v1/audit/head", headers=ADMIN)).json()
    assert api_head == anchor == orjson.loads(taken.stdout)
    await review.ingest()  # the chain grows past the anchor
    params = {"anchor_seq": anchor["seq"], "anchor_hash": anchor["hash"]}
    before = await review.client.get("/api/v1/audit/verify", params=params, headers=ADMIN)
    assert before.json()["ok"] is True and before.json()["anchor_seq"] == anchor["seq"]

    async with review.app.state.db.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == "decision.approve")
        target = (await session.execute(query)).scalar_one()
        assert target.seq < anchor["seq"]
        target.data = target.data.replace("同意发布", "不同意")
        await session.commit()
    await rehash_from(review, target.seq)

    assert (await verify(review))["ok"] is True  # the chain alone cannot tell
    plain = await run_cli(["audit", "verify", "--url", database_url])
    assert plain.exit_code == 0, plain.stdout

    anchored = await run_cli(
        ["audit", "verify", "--url", database_url, "--anchor", str(anchor_file)]
    )
    assert anchored.exit_code == 1
    report = orjson.loads(anchored.stdout)
    assert (report["ok"], report["first_bad_seq"]) == (False, anchor["seq"])
    assert "anchor" in report["reason"] and "rewritten" in report["reason"]
    response = await review.client.get("/api/v1/audit/verify", params=params, headers=ADMIN)
    assert response.json()["first_bad_seq"] == anchor["seq"] and response.json()["ok"] is False


async def test_anchor_refusals_and_a_chain_cut_short(
    review: ReviewHarness, database_url: str, tmp_path: Path
) -> None:
    await review.ingest()
    url = "/api/v1/audit/verify"
    lone = await review.client.get(url, params={"anchor_seq": 3}, headers=ADMIN)
    assert lone.status_code == 422 and lone.json()["errors"][0]["field"] == "anchor_hash"
    bad = await review.client.get(url, params={"anchor_seq": 3, "anchor_hash": "x"}, headers=ADMIN)
    assert bad.status_code == 422
    head = (await review.client.get("/api/v1/audit/head", headers=ADMIN)).json()
    future = {"anchor_seq": head["seq"] + 5, "anchor_hash": head["hash"]}
    cut = (await review.client.get(url, params=future, headers=ADMIN)).json()
    assert (cut["ok"], cut["first_bad_seq"]) == (False, head["seq"] + 5)
    assert "removed" in cut["reason"]
    garbage = tmp_path / "anchor.json"
    garbage.write_text("not an anchor")
    refused = await run_cli(["audit", "verify", "--url", database_url, "--anchor", str(garbage)])
    assert refused.exit_code == 2
