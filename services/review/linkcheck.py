"""Broken-link checks, queued by the consumer and run by a periodic job outside any transaction.

The `content.ingested` consumer records the task with the findings that need no network and
queues a `link_check` row. `run_pending` (the job's step) reads a batch and ends that read
transaction with `run.checkpoint()`, so no connection is held while the links are fetched (the
checker's timeouts, concurrency limit and cache apply); then it records each result and
checkpoints again, one short transaction per result. Recording is guarded by the row still being
pending, so two workers that fetched the same batch record it once. The last stage cannot be
approved while the check is pending.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import CursorResult
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict
from common.events import utcnow
from common.jobs import JobRun
from services.review import audit
from services.review.checks.markup import extract_links
from services.review.checks.types import Finding
from services.review.models import FindingRow, LinkCheck, ReviewTask, finding_row

# The network half of the checks (`MachineChecks.broken_links`): HTML and text in, findings out.
BrokenLinks = Callable[[str, str], Awaitable[list[Finding]]]

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


async def _next_batch(session: AsyncSession, limit: int) -> list[_Job]:
    # Plain columns, not rows: nothing stays in the session's identity map to go stale while
    # the links are fetched, and the results are recorded against fresh reads.
    query = (
        sa_select(
            col(ReviewTask.id),
            col(ReviewTask.content_id),
            col(ReviewTask.version),
            col(ReviewTask.body_html),
            col(ReviewTask.body_text),
            col(ReviewTask.status),
        )
        .join(LinkCheck, col(LinkCheck.task_id) == col(ReviewTask.id))
        .where(col(LinkCheck.status) == PENDING)
        .order_by(col(LinkCheck.queued_at))
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [
        _Job(task_id, content_id, version, body_html, body_text, status == "in_review")
        for task_id, content_id, version, body_html, body_text, status in rows
    ]


async def _finish(session: AsyncSession, task_id: str, values: dict[str, object]) -> bool:
    """Move a pending check on; False if another worker already did (its result stands)."""
    result = await session.execute(
        update(LinkCheck)
        .where(col(LinkCheck.task_id) == task_id, col(LinkCheck.status) == PENDING)
        .values(**values, checked_at=utcnow())
    )
    return cast("CursorResult[Any]", result).rowcount == 1


async def record_findings(session: AsyncSession, job: _Job, findings: list[Finding]) -> bool:
    """Add the link findings to the task's version and mark the check done (audit-logged)."""
    if not await _finish(session, job.task_id, {"status": DONE}):
        return False
    await _add_findings(session, job, findings)
    blocking = sum(f.severity == "block" for f in findings)
    if blocking:
        await session.execute(
            update(ReviewTask)
            .where(col(ReviewTask.id) == job.task_id)
            .values(blocking_findings=col(ReviewTask.blocking_findings) + blocking)
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
        col(FindingRow.content_id) == job.content_id, col(FindingRow.version) == job.version
    )
    first = int((await session.exec(count)).one())
    session.add_all(
        finding_row(job.content_id, job.version, first + i, f) for i, f in enumerate(findings)
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
    session: AsyncSession,
    job: _Job,
    outcome: list[Finding] | BaseException | None,
    max_attempts: int,
) -> None:
    if outcome is None:  # the task was superseded or decided meanwhile
        await _finish(session, job.task_id, {"status": SKIPPED})
    elif isinstance(outcome, BaseException):
        await _record_failure(session, job, outcome, max_attempts)
    else:
        await record_findings(session, job, outcome)


async def run_pending(
    run: JobRun, broken_links: BrokenLinks, limit: int = 20, max_attempts: int = 5
) -> int:
    """One pass of the link-check job: a batch of pending checks; returns how many were taken."""
    jobs = await _next_batch(run.session, limit)
    await run.checkpoint()  # the read ends here: no connection is held while links are fetched
    outcomes = await asyncio.gather(
        *(broken_links(j.body_html, j.body_text) if j.task_open else _none() for j in jobs),
        return_exceptions=True,
    )
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        await _settle(run.session, job, outcome, max_attempts)
        await run.checkpoint()  # each result is its own short transaction, as soon as it is known
    return len(jobs)


async def _none() -> None:
    return None
