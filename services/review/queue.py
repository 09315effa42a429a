"""Reading tasks: per-role and per-person queues, lists by item, and deadline reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import ReviewDeadlinePassed
from common.identity import Actor
from common.pagination import decode_cursor, page
from services.review import audit
from services.review.models import OUTBOX, Decision, ReviewTask
from services.review.schemas import finding_out, task_summary
from services.review.tasks import decisions_of, findings_for

# stage: what the caller may sign now; claimed: what the caller claimed; confidentiality:
# open tasks waiting for the 保密 attestation; all: every task the filters match.
QUEUES = ("stage", "claimed", "confidentiality", "all")


@dataclass
class TaskFilters:
    queue: str | None = None
    status: str | None = None
    content_id: str | None = None
    stage: str | None = None
    site: str | None = None
    urgent: bool | None = None


def _queue_clause(queue: str, actor: Actor) -> list[ColumnElement[bool]]:
    if queue == "stage":
        signed = select(Decision.task_id).where(col(Decision.actor) == actor.id)
        return [
            col(ReviewTask.status) == "in_review",
            col(ReviewTask.stage_role).in_(actor.roles),
            col(ReviewTask.author) != actor.id,
            or_(col(ReviewTask.claimed_by).is_(None), col(ReviewTask.claimed_by) == actor.id),
            col(ReviewTask.id).not_in(signed),
        ]
    if queue == "claimed":
        return [col(ReviewTask.status) == "in_review", col(ReviewTask.claimed_by) == actor.id]
    if queue == "confidentiality":
        return [
            col(ReviewTask.status) == "in_review",
            col(ReviewTask.confidentiality_required).is_(True),
            col(ReviewTask.attested_by).is_(None),
            col(ReviewTask.author) != actor.id,
        ]
    return []


async def list_tasks(
    session: AsyncSession, actor: Actor, filters: TaskFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Urgent first, then oldest first; keyset-paginated on the unique queue key.

    Without `queue`, a list by `content_id` shows every task of the item and any other list is
    the caller's stage queue.
    """
    queue = filters.queue or ("all" if filters.content_id else "stage")
    query = select(ReviewTask).where(*_queue_clause(queue, actor))
    for name in ("status", "content_id", "stage", "site", "urgent"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(col(getattr(ReviewTask, name)) == value)
    if actor.sites is not None:
        query = query.where(col(ReviewTask.site).in_(actor.sites))
    position = decode_cursor(cursor)
    if position:
        query = query.where(col(ReviewTask.queue_key) > str(position))
    query = query.order_by(col(ReviewTask.queue_key)).limit(limit + 1)
    rows = list((await session.exec(query)).all())
    return page(rows, limit, lambda t: t.queue_key)


async def review_page(
    session: AsyncSession, actor: Actor, filters: TaskFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    """A page of `list_tasks`, each task with its decisions and its version's findings."""
    result = await list_tasks(session, actor, filters, cursor, limit)
    tasks: list[ReviewTask] = result["items"]
    decisions = await decisions_of(session, [t.id for t in tasks])
    findings = await findings_for(session, tasks)
    items = [
        {**task_summary(t, decisions[t.id]), "findings": [finding_out(f) for f in findings[t.id]]}
        for t in tasks
    ]
    return {"items": items, "next_cursor": result["next_cursor"]}


async def send_reminders(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Announce each overdue stage once (`review.deadline_passed`); returns how many."""
    query = (
        select(ReviewTask)
        .where(
            col(ReviewTask.status) == "in_review",
            col(ReviewTask.due_at) <= now,
            or_(
                col(ReviewTask.reminded_stage).is_(None),
                col(ReviewTask.reminded_stage) != col(ReviewTask.stage_index),
            ),
        )
        .order_by(col(ReviewTask.queue_key))
        .limit(limit)
    )
    tasks = list((await session.exec(query)).all())
    for task in tasks:
        task.reminded_stage = task.stage_index
        session.add(task)
        assert task.due_at is not None
        await OUTBOX.add(
            session,
            ReviewDeadlinePassed(
                content_id=task.content_id,
                version=task.version,
                task_id=task.id,
                stage=task.stage,
                role=task.stage_role,
                claimed_by=task.claimed_by,
                due_at=task.due_at,
                urgent=task.urgent,
            ),
        )
        await audit.append(
            session,
            "system",
            "task.deadline_passed",
            task.content_id,
            {"task_id": task.id, "stage": task.stage},
        )
    return len(tasks)
