"""Schedules (定时发布, embargo, 到期下线) as distribute needs them: when an approved version may
leave, and whether the item has expired. No HTTP or Kafka; the caller commits.

The library owns the schedule and announces it on `content.ingested` and
`content.schedule_changed`; the row here keeps the highest `revision` seen, so a late or
repeated event never undoes a newer schedule. A release whose item is not due yet is
`scheduled`; `claim_due` hands it to exactly one worker at its moment — the claim is a
conditional UPDATE (`scheduled` → `delivering`), which only one transaction can win, however
many replicas look at the same second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.events import ContentIngested, ContentScheduleChanged, utcnow
from services.distribute.models import ContentSchedule, Release
from services.distribute.pagetags import iso

SCHEDULED = "scheduled"


def due_moment(publish_at: datetime | None, embargo_until: datetime | None) -> datetime | None:
    """When an approved version may go out: the later of the two, or None for at once."""
    moments = [m for m in (publish_at, embargo_until) if m is not None]
    return max(moments) if moments else None


async def remember(
    session: AsyncSession,
    content_id: str,
    revision: int,
    publish_at: datetime | None,
    embargo_until: datetime | None,
    expire_at: datetime | None,
) -> bool:
    """Keep this schedule unless a newer revision is stored; True when the row changed. An
    item that never had a schedule (revision 0, nothing set) gets no row."""
    row = await session.get(ContentSchedule, content_id, with_for_update=True)
    if row is None and revision == 0 and not (publish_at or embargo_until or expire_at):
        return False
    if row is not None and revision <= row.revision:
        return False
    row = row or ContentSchedule(content_id=content_id)
    row.revision, row.publish_at, row.embargo_until = revision, publish_at, embargo_until
    row.expire_at, row.due_at = expire_at, due_moment(publish_at, embargo_until)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return True


async def remember_ingested(session: AsyncSession, data: ContentIngested) -> bool:
    return await remember(
        session,
        data.content_id,
        data.schedule_revision,
        data.publish_at,
        data.embargo_until,
        data.expire_at,
    )


async def remember_changed(session: AsyncSession, data: ContentScheduleChanged) -> bool:
    """A moved or cancelled schedule; a `scheduled` release follows it (a cancelled one is due
    at once and goes out on the `schedules` job's next pass)."""
    return await remember(
        session, data.content_id, data.revision, data.publish_at, data.embargo_until, data.expire_at
    )


async def remember_fetched(session: AsyncSession, content_id: str, fields: dict[str, Any]) -> None:
    """The schedule that came with a version read from ingest's API (`schedule`, if any)."""
    schedule = fields.get("schedule") or {}
    if not schedule:
        return
    moments = {
        name: datetime.fromisoformat(schedule[name]) if schedule.get(name) else None
        for name in ("publish_at", "embargo_until", "expire_at")
    }
    await remember(session, content_id, int(schedule.get("revision") or 0), **moments)


async def hold(session: AsyncSession, release: Release, now: datetime) -> bool:
    """Make the release wait when its item is not due yet; True if it now waits."""
    row = await session.get(ContentSchedule, release.content_id)
    if row is None or row.due_at is None or as_utc(row.due_at) <= now:
        return False
    release.state, release.detail = SCHEDULED, f"定时发布：{iso(as_utc(row.due_at))}"
    session.add(release)
    await session.flush()
    return True


async def expired_at(session: AsyncSession, content_id: str, now: datetime) -> datetime | None:
    """When the item expired (到期下线), if it has; an expired item is not published again."""
    row = await session.get(ContentSchedule, content_id)
    if row is None or row.expire_at is None or as_utc(row.expire_at) > now:
        return None
    return as_utc(row.expire_at)


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Release]:
    """Scheduled releases whose moment has come, each claimed (now `delivering`) by this
    transaction alone; releases another worker claimed first are left out."""
    due = or_(col(ContentSchedule.due_at).is_(None), col(ContentSchedule.due_at) <= now)
    query = (
        select(Release.content_id, Release.version)
        .outerjoin(ContentSchedule, col(ContentSchedule.content_id) == col(Release.content_id))
        .where(col(Release.state) == SCHEDULED, due)
        .order_by(col(ContentSchedule.due_at), col(Release.approved_at))
        .limit(limit)
    )
    claimed = []
    for content_id, version in list(await session.exec(query)):
        won = await session.execute(
            update(Release)
            .where(
                col(Release.content_id) == content_id,
                col(Release.version) == version,
                col(Release.state) == SCHEDULED,
            )
            .values(state="delivering", detail="")
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            release = await session.get(Release, (content_id, version), populate_existing=True)
            if release is not None:
                claimed.append(release)
    return claimed
