"""Reading tasks: per-role and per-person queues, lists by item, and deadline reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import ReviewDeadlinePassed
from common.identity import Actor
from common.pagination import decode_cursor, page
from services.review import audit
from services.review.models import OUTBOX, Decision, ReviewTask

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


def _queue_clause(queue: str, actor: Actor) -> list[object]:
    if queue == "stage":
        signed = select(Decision.task_id).where(Decision.actor == actor.id)
        return [
            ReviewTask.status == "in_review",
            ReviewTask.stage_role.in_(actor.roles),
            ReviewTask.author != actor.id,
            or_(ReviewTask.claimed_by.is_(None), ReviewTask.claimed_by == actor.id),
            ReviewTask.id.not_in(signed),
        ]
    if queue == "claimed":
        return [ReviewTask.status == "in_review", ReviewTask.claimed_by == actor.id]
    if queue == "confidentiality":
        return [
            ReviewTask.status == "in_review",
            ReviewTask.confidentiality_required,
            ReviewTask.attested_by.is_(None),
            ReviewTask.author != actor.id,
        ]
    return []


async def list_tasks(
    session: AsyncSession, actor: Actor, filters: TaskFilters, cursor: str | None, limit: int
) -> dict[str, object]:
    """Urgent first, then oldest first; keyset-paginated on the unique queue key.

    Without `queue`, a list by `content_id` shows every task of the item and any other list is
    the caller's stage queue.
    """
    queue = filters.queue or ("all" if filters.content_id else "stage")
    query = select(ReviewTask).where(*_queue_clause(queue, actor))
    for name in ("status", "content_id", "stage", "site", "urgent"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(ReviewTask, name) == value)
    if actor.sites is not None:
        query = query.where(ReviewTask.site.in_(actor.sites))
    position = decode_cursor(cursor)
    if position:
        query = query.where(ReviewTask.queue_key > str(position))
    query = query.order_by(ReviewTask.queue_key).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    return page(rows, limit, lambda t: t.queue_key)


async def send_reminders(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Announce each overdue stage once (`review.deadline_passed`); returns how many."""
    query = (
        select(ReviewTask)
        .where(
            ReviewTask.status == "in_review",
            ReviewTask.due_at <= now,
            or_(
                ReviewTask.reminded_stage.is_(None),
                ReviewTask.reminded_stage != ReviewTask.stage_index,
            ),
        )
        .order_by(ReviewTask.queue_key)
        .limit(limit)
    )
    tasks = list((await session.execute(query)).scalars())
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
