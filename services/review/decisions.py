"""The stage machine of a review task: claim, release, sign (approve / reject / return), attest.

Every refusal changes nothing. Separation of duties: a stage is signed by its role, never by the
item's author, and nobody signs two stages of one item. A finished task announces
`review.decided` through the outbox; every step is appended to the audit chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, Forbidden, Unprocessable
from common.events import ReviewDecided, utcnow
from common.identity import Actor
from services.review import audit, linkcheck, policies
from services.review.checks.personal import CATEGORY as PERSONAL_DATA
from services.review.models import OUTBOX, Decision, ReviewTask
from services.review.tasks import OPEN, decisions_of, findings_of, get_task, unresolved_blocking

OUTCOME = {"approve": "approved", "reject": "rejected", "return": "returned"}


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
            col(ReviewTask.id) == task.id,
            col(ReviewTask.stage_index) == task.stage_index,
            col(ReviewTask.status) == OPEN,
        )
        .values(**values, updated_at=utcnow())
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
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
