"""An item's schedule (定时发布, embargo, 到期下线), as the library holds it. No HTTP or Kafka; the
caller commits.

The schedule belongs to the item, not to a version: a new version keeps it unless its submission
names one. Distribute holds the approved version until `max(publish_at, embargo_until)`; the
`expiry` job retracts the item at `expire_at` through the ordinary retraction, so it comes down
from every outlet the way an editor's 撤稿 would. Every change bumps `schedule_revision` and is
announced as `content.schedule_changed`; distribute keeps the highest revision it saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.errors import Conflict, Unprocessable
from common.events import ContentScheduleChanged, utcnow
from common.identity import Actor
from common.pagination import decode_cursor, page
from services.ingest import audit
from services.ingest.library import item_in_scope
from services.ingest.models import OUTBOX, ContentItem
from services.ingest.prepare import Incoming
from services.ingest.retraction import RETRACTED, request_retraction
from services.ingest.schemas import ScheduleIn, SchedulePublic, ScheduleState

EXPIRY_REASON = "到期下线：已到设定的下线时间"
# the expiry job retracts as this actor; the audit chain names it
EXPIRY_ACTOR = Actor(id="system:expiry", name="到期下线", kind="service", roles=["admin"])


@dataclass(frozen=True)
class Schedule:
    publish_at: datetime | None = None
    embargo_until: datetime | None = None
    expire_at: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.publish_at or self.embargo_until or self.expire_at)


def current(item: ContentItem) -> Schedule:
    return Schedule(*(_utc(m) for m in (item.publish_at, item.embargo_until, item.expire_at)))


def _utc(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None


def requested(incoming: Incoming, now: datetime) -> Schedule:
    """The schedule a submission asks for; a 发布日期 in the future is taken as `publish_at`
    (an item cannot have been published later than it goes out)."""
    publish_at = incoming.publish_at
    if publish_at is None and incoming.published_at and incoming.published_at > now:
        publish_at = incoming.published_at
    return Schedule(publish_at, incoming.embargo_until, incoming.expire_at)


def ensure_future(schedule: Schedule, now: datetime) -> None:
    """422 naming the part of a new schedule that is already past."""
    for name in ("publish_at", "embargo_until", "expire_at"):
        moment = getattr(schedule, name)
        if moment is not None and moment <= now:
            raise Unprocessable(f"{name} must be in the future", field=name)


def adopt(item: ContentItem, incoming: Incoming, now: datetime) -> bool:
    """Give a new item (or a new version that names a schedule) its schedule; True when the
    schedule changed. A version that names none keeps the item's."""
    schedule = requested(incoming, now)
    if schedule.empty:
        return False
    ensure_future(_new_parts(schedule, current(item)), now)
    return _replace(item, schedule)


def _replace(item: ContentItem, schedule: Schedule) -> bool:
    if current(item) == schedule:
        return False
    item.publish_at, item.embargo_until = schedule.publish_at, schedule.embargo_until
    item.expire_at = schedule.expire_at
    item.schedule_revision += 1
    return True


def changed_event(item: ContentItem, actor: str) -> ContentScheduleChanged:
    return ContentScheduleChanged(
        content_id=item.id,
        revision=item.schedule_revision,
        publish_at=item.publish_at,
        embargo_until=item.embargo_until,
        expire_at=item.expire_at,
        changed_by=actor,
    )


async def change(
    session: AsyncSession, content_id: str, data: ScheduleIn, actor: Actor
) -> dict[str, Any]:
    """Move or cancel an item's schedule before it fires (PUT semantics: the whole schedule).

    404/403 as for reading the item; 409 once it is retracted, or when the publication moment
    is changed after the item went out (its `expire_at` may still change); 422 for a moment
    that is already past. An unchanged schedule changes nothing and announces nothing."""
    item = await item_in_scope(session, content_id, actor)
    if item.status == RETRACTED:
        raise Conflict(f"item {item.id} is retracted; it has no schedule", field="status")
    schedule = Schedule(data.publish_at, data.embargo_until, data.expire_at)
    was = current(item)
    went_out = item.published_version is not None
    for name in ("publish_at", "embargo_until"):
        if went_out and getattr(schedule, name) != getattr(was, name):
            raise Conflict(f"item {item.id} is already published; {name} has fired", field=name)
    now = utcnow()
    ensure_future(_new_parts(schedule, was), now)
    if _replace(item, schedule):
        item.updated_at = now
        session.add(item)
        await OUTBOX.add(session, changed_event(item, actor.id))
        record = {k: _iso(getattr(item, k)) for k in ("publish_at", "embargo_until", "expire_at")}
        record["revision"] = item.schedule_revision  # type: ignore[assignment]
        await audit.record(session, actor.id, "content.schedule_changed", item.id, record)
    return schedule_out(item, now)


def _new_parts(schedule: Schedule, was: Schedule) -> Schedule:
    """Only the moments being set now must be in the future (an unchanged, fired part stays)."""
    return Schedule(
        *(
            None if getattr(schedule, name) == getattr(was, name) else getattr(schedule, name)
            for name in ("publish_at", "embargo_until", "expire_at")
        )
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def schedule_state(item: ContentItem, now: datetime) -> ScheduleState:
    schedule = current(item)
    if item.status == RETRACTED:
        expired = schedule.expire_at is not None and schedule.expire_at <= now
        return "expired" if expired else "retracted"
    if item.published_version is not None:
        return "waiting" if schedule.expire_at and schedule.expire_at > now else "published"
    if schedule.empty:
        return "none"
    return "waiting"


def schedule_out(item: ContentItem, now: datetime) -> dict[str, Any]:
    schedule = current(item)
    return SchedulePublic(
        id=item.id,
        title=item.title,
        site=item.site,
        status=item.status,
        publish_at=schedule.publish_at,
        embargo_until=schedule.embargo_until,
        expire_at=schedule.expire_at,
        revision=item.schedule_revision,
        state=schedule_state(item, now),
    ).model_dump(mode="json")


def _first_moment() -> Any:
    return func.coalesce(
        col(ContentItem.publish_at), col(ContentItem.embargo_until), col(ContentItem.expire_at)
    )


async def list_scheduled(
    session: AsyncSession, actor: Actor, site: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """What is still to fire within the caller's sites: items waiting to go out, and items
    that will expire; ordered by the first moment of their schedule, then id."""
    now = utcnow()
    waiting = (
        or_(col(ContentItem.publish_at) > now, col(ContentItem.embargo_until) > now)
        & col(ContentItem.published_version).is_(None)
    ) | (col(ContentItem.expire_at) > now)
    query = select(ContentItem).where(waiting, col(ContentItem.status) != RETRACTED)
    if site is not None:
        actor.require_site(site)
        query = query.where(col(ContentItem.site) == site)
    if actor.sites is not None:
        query = query.where(col(ContentItem.site).in_(actor.sites))
    position = decode_cursor(cursor)
    first = _first_moment()
    if position:
        at, last_id = datetime.fromisoformat(position[0]), position[1]
        query = query.where(or_(first > at, (first == at) & (col(ContentItem.id) > last_id)))
    rows = list(await session.exec(query.order_by(first, col(ContentItem.id)).limit(limit + 1)))
    result = page(rows, limit, lambda r: [_first_of(r).isoformat(), r.id])
    result["items"] = [schedule_out(item, now) for item in result["items"]]
    return result


def _first_of(item: ContentItem) -> datetime:
    schedule = current(item)
    first = schedule.publish_at or schedule.embargo_until or schedule.expire_at
    assert first is not None  # only scheduled items are listed
    return first


async def expire_due(session: AsyncSession, limit: int) -> list[str]:
    """Retract every item whose `expire_at` has passed and that went out (or was approved to);
    the ids retracted. Each item is claimed by a conditional UPDATE (`approved`/`published` →
    `retracted`) that only one transaction can win, so it expires once across workers."""
    now = utcnow()
    went_out = col(ContentItem.status).in_(("approved", "published"))
    query = (
        select(ContentItem.id)
        .where(col(ContentItem.expire_at) <= now, went_out)
        .order_by(col(ContentItem.expire_at))
        .limit(limit)
    )
    expired = []
    for content_id in list(await session.exec(query)):
        claim = (
            update(ContentItem)
            .where(col(ContentItem.id) == content_id, went_out)
            .values(status=RETRACTED)
            .execution_options(synchronize_session=False)
        )
        if (await session.execute(claim)).rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker took it down first
        await request_retraction(session, content_id, EXPIRY_REASON, EXPIRY_ACTOR)
        expired.append(content_id)
    return expired
