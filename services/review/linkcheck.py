"""Broken-link checks, queued by the consumer and run by a periodic job outside any transaction.

The `content.ingested` consumer records the task with the findings that need no network and
queues a `link_check` row. `run_pending` reads a batch in one short session, closes it, fetches
the links (the checker's timeouts, concurrency limit and cache apply), then records each result
in its own short transaction. The last stage cannot be approved while the check is pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import Database
from common.errors import Conflict
from common.events import utcnow
from services.review import audit
from services.review.checking import MachineChecks
from services.review.checks.markup import extract_links
from services.review.checks.types import Finding
from services.review.models import FindingRow, LinkCheck, ReviewTask

log = logging.getLogger(__name__)

PENDING, DONE, SKIPPED, FAILED = "pending", "done", "skipped", "failed"


async def enqueue(session: AsyncSession, task: ReviewTask) -> bool:
    """Queue the check of a new task's links; False when the item links nowhere."""
    if not extract_links(task.body_html, task.body_text):
        return False
    await session.flush()  # the task row first: link_check references it
    session.add(
        LinkCheck(
            task_id=task.id,
            content_id=task.content_id,
            version=task.version,
            status=PENDING,
            queued_at=utcnow(),
        )
    )
    return True


async def status_of(session: AsyncSession, task_id: str) -> str | None:
    """`pending`, `done`, `skipped`, `failed`, or None when no check was queued."""
    row = await session.get(LinkCheck, task_id)
    return row.status if row else None


async def require_checked(session: AsyncSession, task: ReviewTask) -> None:
    """The final approval waits for the link check: its findings might block the item."""
    if await status_of(session, task.id) == PENDING:
        raise Conflict(
            "the broken-link check has not run yet; the last stage can be approved once it has",
            field="link_check",
        )


@dataclass(frozen=True)
class _Job:
    task_id: str
    content_id: str
    version: int
    body_html: str
    body_text: str
    task_open: bool


async def _next_batch(database: Database, limit: int) -> list[_Job]:
    # Its own session, closed before any HTTP request: no connection or snapshot is held.
    async with database.sessions() as session:
        query = (
            select(LinkCheck, ReviewTask)
            .join(ReviewTask, ReviewTask.id == LinkCheck.task_id)
            .where(LinkCheck.status == PENDING)
            .order_by(LinkCheck.queued_at)
            .limit(limit)
        )
        rows = (await session.execute(query)).all()
    return [
        _Job(t.id, t.content_id, t.version, t.body_html, t.body_text, t.status == "in_review")
        for _, t in rows
    ]


async def _finish(session: AsyncSession, task_id: str, values: dict[str, object]) -> bool:
    """Move a pending check on; False if another worker already did (its result stands)."""
    result = await session.execute(
        update(LinkCheck)
        .where(LinkCheck.task_id == task_id, LinkCheck.status == PENDING)
        .values(**values, checked_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def record_findings(session: AsyncSession, job: _Job, findings: list[Finding]) -> bool:
    """Add the link findings to the task's version and mark the check done (audit-logged)."""
    if not await _finish(session, job.task_id, {"status": DONE}):
        return False
    await _add_findings(session, job, findings)
    blocking = sum(f.severity == "block" for f in findings)
    if blocking:
        await session.execute(
            update(ReviewTask)
            .where(ReviewTask.id == job.task_id)
            .values(blocking_findings=ReviewTask.blocking_findings + blocking)
        )
    await audit.append(
        session,
        "system",
        "links.checked",
        job.content_id,
        {
            "task_id": job.task_id,
            "version": job.version,
            "broken": len(findings),
            "by_severity": dict(Counter(f.severity for f in findings)),
        },
    )
    return True


async def _add_findings(session: AsyncSession, job: _Job, findings: list[Finding]) -> None:
    """Append findings after those the version already has (ordinals stay unique)."""
    count = select(func.count()).where(
        FindingRow.content_id == job.content_id, FindingRow.version == job.version
    )
    first = int((await session.execute(count)).scalar_one())
    session.add_all(
        FindingRow(content_id=job.content_id, version=job.version, ordinal=first + i, **f.as_dict())
        for i, f in enumerate(findings)
    )


# Shown to reviewers when the links could not be checked at all: they must look themselves.
CHECK_FAILED = Finding(
    rule="link.check_failed",
    category="link",
    severity="warn",
    start=0,
    end=0,
    text="",
    suggestion="链接检查未能完成，请人工核对正文中的外部链接",
)


async def _record_failure(
    session: AsyncSession, job: _Job, error: BaseException, max_attempts: int
) -> None:
    row = await session.get(LinkCheck, job.task_id)
    if row is None or row.status != PENDING:
        return
    row.attempts += 1
    row.last_error = repr(error)[:500]
    if row.attempts < max_attempts:
        session.add(row)
        return
    # Giving up must not leave the item unapprovable forever; the trail says the check failed.
    await _finish(session, job.task_id, {"status": FAILED, "attempts": row.attempts})
    await _add_findings(session, job, [CHECK_FAILED])
    await audit.append(
        session,
        "system",
        "links.check_failed",
        job.content_id,
        {"task_id": job.task_id, "version": job.version, "error": row.last_error},
    )


async def _settle(
    database: Database, job: _Job, outcome: list[Finding] | BaseException | None, max_attempts: int
) -> None:
    async with database.sessions() as session:
        if outcome is None:  # the task was superseded or decided meanwhile
            await _finish(session, job.task_id, {"status": SKIPPED})
        elif isinstance(outcome, BaseException):
            await _record_failure(session, job, outcome, max_attempts)
        else:
            await record_findings(session, job, outcome)
        await session.commit()


async def run_pending(
    database: Database, checks: MachineChecks, limit: int = 20, max_attempts: int = 5
) -> int:
    """Run one batch of pending link checks; returns how many were taken."""
    jobs = await _next_batch(database, limit)
    outcomes = await asyncio.gather(
        *(checks.broken_links(j.body_html, j.body_text) if j.task_open else _none() for j in jobs),
        return_exceptions=True,
    )
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        await _settle(database, job, outcome, max_attempts)
    return len(jobs)


async def _none() -> None:
    return None
