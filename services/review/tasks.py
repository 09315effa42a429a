"""Review tasks: opening one per new version from its machine-check results, and reading them.

No HTTP or Kafka here; the caller (request or consumer) commits. Opening a task appends to the
audit chain and announces `review.started` through the outbox in the same transaction.
"""

from __future__ import annotations

import difflib
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import insert_models
from common.events import ContentIngested, ReviewStarted, utcnow
from common.lookup import get_or_404
from services.review import audit, linkcheck, policies
from services.review.checks.types import Finding
from services.review.models import OUTBOX, Decision, FindingRow, ReviewTask, finding_row
from services.review.schemas import task_detail

OPEN = "in_review"


def queue_key(urgent: bool, created_at: datetime, task_id: str) -> str:
    """Sorts urgent items first, then oldest first; unique, so it doubles as a cursor."""
    return f"{0 if urgent else 1}|{created_at.strftime('%Y%m%dT%H%M%S.%f')}|{task_id}"


async def latest_task(session: AsyncSession, content_id: str) -> ReviewTask | None:
    query = (
        select(ReviewTask)
        .where(col(ReviewTask.content_id) == content_id)
        .order_by(col(ReviewTask.version).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def get_task(session: AsyncSession, task_id: str) -> ReviewTask:
    return await get_or_404(session, ReviewTask, task_id, detail=f"no review task {task_id}")


async def open_review(
    session: AsyncSession,
    data: ContentIngested,
    findings: list[Finding],
    latest: ReviewTask | None,
    queue_links: bool = False,
) -> ReviewTask | None:
    """Store the findings and open a task for a new version (superseding an open older one).

    `latest` is the item's newest task (`latest_task`), read by the caller before it ran the
    checks. With `queue_links`, the broken-link check is queued for the worker's job (never run
    here: the caller's transaction is open). Returns None when the version is not newer than
    one already seen (redelivery, reordering).
    """
    if latest is not None and latest.version >= data.version:
        return None
    now = utcnow()
    policy = await policies.resolve(session, data.site, data.kind)
    stages = policy.stages_for(data.is_reprint)
    classified = any(f.category == "classification" for f in findings)
    task_id = uuid.uuid4().hex
    task = ReviewTask(
        id=task_id,
        content_id=data.content_id,
        version=data.version,
        content_hash=data.content_hash,
        status=OPEN,
        stages=stages,
        stage_index=0,
        stage=stages[0]["name"],
        stage_role=stages[0]["role"],
        queue_key=queue_key(data.urgent, now, task_id),
        due_at=now + timedelta(hours=policy.hours(data.urgent)),
        stage_hours=policy.hours(data.urgent),
        confidentiality_required=policy.attestation_required(classified),
        blocking_findings=sum(f.severity == "block" for f in findings),
        title=data.title,
        body_text=data.body_text,
        body_html=data.body_html,
        kind=data.kind,
        site=data.site,
        columns=data.columns,
        publisher=data.publisher,
        doc_number=data.doc_number,
        author=data.author,
        urgent=data.urgent,
        is_reprint=data.is_reprint,
        created_at=now,
        updated_at=now,
    )
    if latest is not None and latest.status == OPEN:
        await _supersede(session, latest, data.version)
    # Written once here: core inserts, not the ORM's unit of work (one task per new version).
    rows = [finding_row(data.content_id, data.version, i, f) for i, f in enumerate(findings)]
    await insert_models(session, [task, *rows])
    links_pending = queue_links and await linkcheck.enqueue(session, task)
    await _audit_opening(session, data, task, findings, policy.source, links_pending)
    await OUTBOX.add(
        session,
        ReviewStarted(
            content_id=task.content_id,
            version=task.version,
            task_id=task.id,
            stages=[s["name"] for s in stages],
            blocking_findings=task.blocking_findings,
        ),
    )
    return task


async def _supersede(session: AsyncSession, task: ReviewTask, by_version: int) -> None:
    task.status, task.claimed_by, task.updated_at = "superseded", None, utcnow()
    session.add(task)
    await audit.append(
        session,
        "system",
        "task.superseded",
        task.content_id,
        {"task_id": task.id, "version": task.version, "by_version": by_version},
    )


async def _audit_opening(
    session: AsyncSession,
    data: ContentIngested,
    task: ReviewTask,
    findings: list[Finding],
    policy_source: str,
    links_pending: bool,
) -> None:
    subject, severities = data.content_id, Counter(f.severity for f in findings)
    seen = {"version": data.version, "content_hash": data.content_hash, "title": data.title}
    recorded = {
        "version": data.version,
        "count": len(findings),
        "by_severity": dict(severities),
        "rules": sorted({f.rule for f in findings}),
    }
    opened = {
        "task_id": task.id,
        "version": task.version,
        "stages": [s["name"] for s in task.stages],
        "policy": policy_source,
        "confidentiality_required": task.confidentiality_required,
        "link_check": "pending" if links_pending else None,
    }
    await audit.append_many(
        session,
        [
            audit.Record(data.author, "content.seen", subject, seen),
            audit.Record("system", "findings.recorded", subject, recorded),
            audit.Record("system", "task.opened", subject, opened),
        ],
    )


async def findings_of(session: AsyncSession, content_id: str, version: int) -> list[FindingRow]:
    query = (
        select(FindingRow)
        .where(col(FindingRow.content_id) == content_id, col(FindingRow.version) == version)
        .order_by(col(FindingRow.ordinal))
    )
    return list((await session.exec(query)).all())


async def findings_for(
    session: AsyncSession, tasks: list[ReviewTask]
) -> dict[str, list[FindingRow]]:
    """The findings of each task's version, for a page of tasks (one query)."""
    result: dict[str, list[FindingRow]] = {t.id: [] for t in tasks}
    if not tasks:
        return result
    wanted = {(t.content_id, t.version): t.id for t in tasks}
    query = (
        select(FindingRow)
        .where(col(FindingRow.content_id).in_({t.content_id for t in tasks}))
        .order_by(col(FindingRow.ordinal))
    )
    for row in (await session.exec(query)).all():
        task_id = wanted.get((row.content_id, row.version))
        if task_id is not None:
            result[task_id].append(row)
    return result


async def decisions_of(session: AsyncSession, task_ids: list[str]) -> dict[str, list[Decision]]:
    result: dict[str, list[Decision]] = {t: [] for t in task_ids}
    if task_ids:
        query = (
            select(Decision).where(col(Decision.task_id).in_(task_ids)).order_by(col(Decision.id))
        )
        for row in (await session.exec(query)).all():
            result[row.task_id].append(row)
    return result


def unresolved_blocking(task: ReviewTask, findings: list[FindingRow]) -> list[FindingRow]:
    """Blocking findings still standing: classification marks are cleared by the attestation."""
    return [
        f
        for f in findings
        if f.severity == "block" and not (f.category == "classification" and task.attested_by)
    ]


async def diff_against_approved(
    session: AsyncSession, task: ReviewTask
) -> dict[str, object] | None:
    """Unified diff of title and text against the item's last approved version, if any."""
    query = (
        select(ReviewTask)
        .where(
            col(ReviewTask.content_id) == task.content_id,
            col(ReviewTask.status) == "approved",
            col(ReviewTask.version) < task.version,
        )
        .order_by(col(ReviewTask.version).desc())
        .limit(1)
    )
    base = (await session.exec(query)).first()
    if base is None:
        return None
    old = [f"标题：{base.title}", *base.body_text.splitlines()]
    new = [f"标题：{task.title}", *task.body_text.splitlines()]
    lines = difflib.unified_diff(old, new, f"v{base.version}", f"v{task.version}", lineterm="")
    return {
        "base_version": base.version,
        "base_content_hash": base.content_hash,
        "unified": "\n".join(lines),
    }


async def task_view(session: AsyncSession, task_id: str) -> dict[str, Any]:
    """One task as the API shows it: findings, decisions, link check, diff to the approved one."""
    task = await get_task(session, task_id)
    decisions = (await decisions_of(session, [task.id]))[task.id]
    findings = await findings_of(session, task.content_id, task.version)
    diff = await diff_against_approved(session, task)
    link_check = await linkcheck.status_of(session, task.id)
    return task_detail(task, decisions, findings, diff, link_check)
