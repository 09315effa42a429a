"""Review tasks: opening them from machine-check results and walking their stages.

No HTTP or Kafka here; the caller (request or consumer) commits. Every change appends to the
audit chain and, where other services must learn of it, to the outbox in the same transaction.
"""

from __future__ import annotations

import difflib
import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, Forbidden, NotFound, Unprocessable
from common.events import ContentIngested, ReviewDecided, ReviewStarted, utcnow
from common.identity import Actor
from services.review import audit, linkcheck, policies
from services.review.checks.personal import CATEGORY as PERSONAL_DATA
from services.review.checks.types import Finding
from services.review.models import OUTBOX, Decision, FindingRow, ReviewTask

OPEN = "in_review"
OUTCOME = {"approve": "approved", "reject": "rejected", "return": "returned"}


def queue_key(urgent: bool, created_at: datetime, task_id: str) -> str:
    """Sorts urgent items first, then oldest first; unique, so it doubles as a cursor."""
    return f"{0 if urgent else 1}|{created_at.strftime('%Y%m%dT%H%M%S.%f')}|{task_id}"


async def latest_task(session: AsyncSession, content_id: str) -> ReviewTask | None:
    query = (
        select(ReviewTask)
        .where(ReviewTask.content_id == content_id)
        .order_by(ReviewTask.version.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def get_task(session: AsyncSession, task_id: str) -> ReviewTask:
    task = await session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(f"no review task {task_id}", field="id")
    return task


async def open_review(
    session: AsyncSession,
    data: ContentIngested,
    findings: list[Finding],
    queue_links: bool = False,
) -> ReviewTask | None:
    """Store the findings and open a task for a new version (superseding an open older one).

    With `queue_links`, the broken-link check is queued for the worker's job (never run here:
    the caller's transaction is open). Returns None when the version is not newer than one
    already seen (redelivery, reordering).
    """
    latest = await latest_task(session, data.content_id)
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
    session.add(task)
    session.add_all(
        FindingRow(content_id=data.content_id, version=data.version, ordinal=i, **f.as_dict())
        for i, f in enumerate(findings)
    )
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
    subject = data.content_id
    await audit.append(
        session,
        data.author,
        "content.seen",
        subject,
        {
            "version": data.version,
            "content_hash": data.content_hash,
            "title": data.title,
        },
    )
    severities = Counter(f.severity for f in findings)
    await audit.append(
        session,
        "system",
        "findings.recorded",
        subject,
        {
            "version": data.version,
            "count": len(findings),
            "by_severity": dict(severities),
            "rules": sorted({f.rule for f in findings}),
        },
    )
    await audit.append(
        session,
        "system",
        "task.opened",
        subject,
        {
            "task_id": task.id,
            "version": task.version,
            "stages": [s["name"] for s in task.stages],
            "policy": policy_source,
            "confidentiality_required": task.confidentiality_required,
            "link_check": "pending" if links_pending else None,
        },
    )


async def findings_of(session: AsyncSession, content_id: str, version: int) -> list[FindingRow]:
    query = (
        select(FindingRow)
        .where(FindingRow.content_id == content_id, FindingRow.version == version)
        .order_by(FindingRow.ordinal)
    )
    return list((await session.execute(query)).scalars())


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
        .where(FindingRow.content_id.in_({t.content_id for t in tasks}))
        .order_by(FindingRow.ordinal)
    )
    for row in (await session.execute(query)).scalars():
        task_id = wanted.get((row.content_id, row.version))
        if task_id is not None:
            result[task_id].append(row)
    return result


async def decisions_of(session: AsyncSession, task_ids: list[str]) -> dict[str, list[Decision]]:
    result: dict[str, list[Decision]] = {t: [] for t in task_ids}
    if task_ids:
        query = select(Decision).where(Decision.task_id.in_(task_ids)).order_by(Decision.id)
        for row in (await session.execute(query)).scalars():
            result[row.task_id].append(row)
    return result


def unresolved_blocking(task: ReviewTask, findings: list[FindingRow]) -> list[FindingRow]:
    """Blocking findings still standing: classification marks are cleared by the attestation."""
    return [
        f
        for f in findings
        if f.severity == "block" and not (f.category == "classification" and task.attested_by)
    ]


# --- the stage machine -----------------------------------------------------------------------


def _require_open(task: ReviewTask) -> None:
    if task.status == "superseded":
        raise Conflict("this version was superseded by a newer one", field="version")
    if task.status != OPEN:
        raise Conflict(f"review already finished ({task.status})", field="status")


async def _require_may_sign(session: AsyncSession, task: ReviewTask, actor: Actor) -> None:
    """Separation of duties: stage role, never the author, never two stages of one item."""
    actor.require_site(task.site)
    if not actor.has_role(task.stage_role):
        raise Forbidden(f"stage {task.stage} is signed by role {task.stage_role}", field="role")
    if actor.id == task.author:
        raise Forbidden("the author cannot review their own item", field="actor")
    signed = [d for d in (await decisions_of(session, [task.id]))[task.id] if d.actor == actor.id]
    if signed:
        raise Forbidden(f"already signed stage {signed[0].stage} of this item", field="actor")


async def decide(
    session: AsyncSession,
    task_id: str,
    actor: Actor,
    decision: str,
    comment: str,
    override_reason: str | None = None,
    expected_stage: str | None = None,
    expected_version: int | None = None,
) -> ReviewTask:
    """Approve, reject or return the task's current stage. Refusals change nothing."""
    task = await get_task(session, task_id)
    actor.require_site(task.site)
    _require_open(task)
    if expected_version is not None and expected_version != task.version:
        raise Conflict(f"task is for version {task.version}", field="version")
    if expected_stage is not None and expected_stage != task.stage:
        raise Conflict(f"stage {expected_stage} is already decided", field="stage")
    await _require_may_sign(session, task, actor)
    if task.claimed_by and task.claimed_by != actor.id:
        raise Conflict(f"claimed by {task.claimed_by}", field="claimed_by")
    if decision != "approve" and not comment.strip():
        raise Unprocessable(f"a {decision} needs a comment", field="comment")
    if decision == "approve":
        await _check_approvable(session, task, actor, override_reason)
    elif override_reason:
        raise Unprocessable("an override only accompanies an approval", field="override_reason")
    return await _record(session, task, actor, decision, comment, override_reason)


async def _check_approvable(
    session: AsyncSession, task: ReviewTask, actor: Actor, override_reason: str | None
) -> None:
    if override_reason is not None:
        if not actor.has_role("override"):
            raise Forbidden(
                "overriding a blocking finding requires role override", field="override_reason"
            )
        if not override_reason.strip():
            raise Unprocessable("an override needs a written reason", field="override_reason")
    blocking = unresolved_blocking(task, await findings_of(session, task.content_id, task.version))
    personal = sorted({f.rule for f in blocking if f.category == PERSONAL_DATA})
    if personal:
        # The hub publishes the approved version verbatim, so no override lets personal data out.
        raise Conflict(
            f"含个人信息（{', '.join(personal)}），不能放行：请删除或脱敏后提交新版本",
            field="findings",
        )
    if blocking and not (task.override_by or override_reason):
        rules = ", ".join(sorted({f.rule for f in blocking}))
        raise Conflict(f"{len(blocking)} blocking finding(s) stand: {rules}", field="findings")
    last = task.stage_index == len(task.stages) - 1
    if last and task.confidentiality_required and not task.attested_by:
        raise Conflict("the 保密审查 attestation is not recorded yet", field="attestation")
    if last:
        await linkcheck.require_checked(session, task)


async def _advance(session: AsyncSession, task: ReviewTask, values: dict[str, object]) -> None:
    """Move the task only if nobody moved it meanwhile (two reviewers at once → one 409)."""
    result = await session.execute(
        update(ReviewTask)
        .where(
            ReviewTask.id == task.id,
            ReviewTask.stage_index == task.stage_index,
            ReviewTask.status == OPEN,
        )
        .values(**values, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the task changed meanwhile; reload it", field="stage")
    await session.refresh(task)


async def _record(
    session: AsyncSession,
    task: ReviewTask,
    actor: Actor,
    decision: str,
    comment: str,
    override_reason: str | None,
) -> ReviewTask:
    stage, stage_index, now = task.stage, task.stage_index, utcnow()
    last = stage_index == len(task.stages) - 1
    values: dict[str, object] = {"claimed_by": None}
    if decision == "approve" and not last:
        nxt = task.stages[stage_index + 1]
        values |= {
            "stage_index": stage_index + 1,
            "stage": nxt["name"],
            "stage_role": nxt["role"],
            "due_at": now + timedelta(hours=task.stage_hours),
        }
    else:
        values["status"] = OUTCOME[decision]
    if override_reason:
        values |= {"override_by": actor.id, "override_reason": override_reason}
    await _advance(session, task, values)
    session.add(
        Decision(
            task_id=task.id,
            stage_index=stage_index,
            stage=stage,
            decision=decision,
            actor=actor.id,
            comment=comment,
            override_reason=override_reason,
            at=now,
        )
    )
    if override_reason:
        await audit.append(
            session,
            actor.id,
            "finding.overridden",
            task.content_id,
            {
                "task_id": task.id,
                "version": task.version,
                "stage": stage,
                "reason": override_reason,
            },
        )
    await audit.append(
        session,
        actor.id,
        f"decision.{decision}",
        task.content_id,
        {"task_id": task.id, "version": task.version, "stage": stage, "comment": comment},
    )
    if task.status != OPEN:
        await _announce(session, task, stage, actor.id, comment, now)
    return task


async def _announce(
    session: AsyncSession, task: ReviewTask, stage: str, by: str, comment: str, at: datetime
) -> None:
    await OUTBOX.add(
        session,
        ReviewDecided(
            content_id=task.content_id,
            version=task.version,
            content_hash=task.content_hash,
            task_id=task.id,
            decision=task.status,
            stage=stage,
            decided_by=by,
            comment=comment,
            decided_at=at,
        ),
    )


async def attest(
    session: AsyncSession, task_id: str, actor: Actor, result: str, comment: str
) -> ReviewTask:
    """Record the 保密审查 attestation; `classified` stops the item (rejected)."""
    task = await get_task(session, task_id)
    actor.require_site(task.site)
    actor.require_role("confidentiality")
    _require_open(task)
    if actor.id == task.author:
        raise Forbidden("the author cannot attest their own item", field="actor")
    if task.attested_by:
        raise Conflict(f"already attested by {task.attested_by}", field="attestation")
    if result == "classified" and not comment.strip():
        raise Unprocessable("say what is classified", field="comment")
    now = utcnow()
    values: dict[str, object] = {
        "attested_by": actor.id,
        "attested_at": now,
        "attestation_comment": comment,
    }
    if result == "classified":
        values |= {"status": "rejected", "claimed_by": None}
    await _advance(session, task, values)
    session.add(
        Decision(
            task_id=task.id,
            stage_index=task.stage_index,
            stage=policies.CONFIDENTIALITY_STAGE,
            decision=f"attest_{result}",
            actor=actor.id,
            comment=comment,
            at=now,
        )
    )
    await audit.append(
        session,
        actor.id,
        "attestation.recorded",
        task.content_id,
        {"task_id": task.id, "version": task.version, "result": result, "comment": comment},
    )
    if task.status != OPEN:
        await _announce(session, task, policies.CONFIDENTIALITY_STAGE, actor.id, comment, now)
    return task


async def claim(session: AsyncSession, task_id: str, actor: Actor) -> ReviewTask:
    """Take the current stage into one's own queue; idempotent for the claimer."""
    task = await get_task(session, task_id)
    _require_open(task)
    await _require_may_sign(session, task, actor)
    if task.claimed_by == actor.id:
        return task
    if task.claimed_by:
        raise Conflict(f"claimed by {task.claimed_by}", field="claimed_by")
    await _advance(session, task, {"claimed_by": actor.id})
    await audit.append(
        session,
        actor.id,
        "task.claimed",
        task.content_id,
        {"task_id": task.id, "stage": task.stage},
    )
    return task


async def release(session: AsyncSession, task_id: str, actor: Actor) -> ReviewTask:
    """Give a claimed stage back to the shared queue (the claimer, or an admin)."""
    task = await get_task(session, task_id)
    actor.require_site(task.site)
    _require_open(task)
    if task.claimed_by is None:
        raise Conflict("the task is not claimed", field="claimed_by")
    if task.claimed_by != actor.id and not actor.has_role("admin"):
        raise Forbidden(f"claimed by {task.claimed_by}", field="claimed_by")
    previous = task.claimed_by
    await _advance(session, task, {"claimed_by": None})
    await audit.append(
        session,
        actor.id,
        "task.released",
        task.content_id,
        {"task_id": task.id, "stage": task.stage, "claimed_by": previous},
    )
    return task


async def diff_against_approved(
    session: AsyncSession, task: ReviewTask
) -> dict[str, object] | None:
    """Unified diff of title and text against the item's last approved version, if any."""
    query = (
        select(ReviewTask)
        .where(
            ReviewTask.content_id == task.content_id,
            ReviewTask.status == "approved",
            ReviewTask.version < task.version,
        )
        .order_by(ReviewTask.version.desc())
        .limit(1)
    )
    base = (await session.execute(query)).scalar_one_or_none()
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
