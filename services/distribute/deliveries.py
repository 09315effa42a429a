"""The delivery log as staff read it; the caller commits (nothing here writes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.errors import BadRequest, NotFound
from common.events import utcnow
from common.lookup import get_or_404
from common.pagination import decode_cursor, page
from services.distribute.models import Delivery, DeliveryAction, DeliveryAttempt, Release
from services.distribute.pagetags import iso


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return iso(moment) if moment else None

    return {
        "id": delivery.id,
        "content_id": delivery.content_id,
        "version": delivery.version,
        "content_hash": delivery.content_hash,
        "action": delivery.action,
        "target": delivery.target,
        "channel": delivery.channel,
        "endpoint_id": delivery.endpoint_id,
        "account_id": delivery.account_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "next_attempt_at": when(delivery.next_attempt_at if delivery.state == "pending" else None),
        "created_at": iso(delivery.created_at),
        "updated_at": iso(delivery.updated_at),
        "delivered_at": when(delivery.delivered_at),
    }


def attempt_out(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "response": attempt.response,
        "duration_ms": attempt.duration_ms,
        "at": iso(attempt.at),
    }


def action_out(action: DeliveryAction) -> dict[str, Any]:
    return {
        "action": action.action,
        "actor_id": action.actor_id,
        "actor_name": action.actor_name,
        "from_state": action.from_state,
        "at": iso(action.at),
    }


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(position[0])), str(position[1])
    except (TypeError, ValueError, IndexError, KeyError) as error:
        raise BadRequest("invalid cursor", field="cursor") from error


def stuck(now: datetime, overdue_seconds: float) -> ColumnElement[bool]:
    """Deliveries nobody is moving: a send whose lease ran out (its process died and no
    dispatcher took it over), or a pending one long past its due time."""
    return or_(
        and_(col(Delivery.state) == "sending", col(Delivery.lease_until) < now),
        and_(
            col(Delivery.state) == "pending",
            col(Delivery.next_attempt_at) < now - timedelta(seconds=overdue_seconds),
        ),
    )


async def list_deliveries(
    session: AsyncSession,
    content_id: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
    sites: list[str] | None = None,
    stuck_after: float = 300.0,
) -> dict[str, Any]:
    """Oldest first (the order things happened to the item), keyset on (created_at, id);
    `sites` (the caller's site scope, None = all) limits it to those sites' releases.
    `state` is a delivery state, or `stuck` (see `stuck`, pending `stuck_after` seconds late)."""
    query = select(Delivery)
    if sites is not None:
        query = query.join(
            Release,
            and_(
                col(Release.content_id) == col(Delivery.content_id),
                col(Release.version) == col(Delivery.version),
            ),
        ).where(col(Release.site).in_(sites))
    if content_id is not None:
        query = query.where(col(Delivery.content_id) == content_id)
    if state == "stuck":
        query = query.where(stuck(utcnow(), stuck_after))
    elif state is not None:
        query = query.where(col(Delivery.state) == state)
    position = _position(cursor)
    if position is not None:
        query = query.where(
            or_(
                col(Delivery.created_at) > position[0],
                and_(col(Delivery.created_at) == position[0], col(Delivery.id) > position[1]),
            )
        )
    query = query.order_by(col(Delivery.created_at), col(Delivery.id)).limit(limit + 1)
    rows = list(await session.exec(query))
    result = page(rows, limit, lambda d: [as_utc(d.created_at).isoformat(), d.id])
    result["items"] = [delivery_out(d) for d in result["items"]]
    return result


async def visible_delivery(
    session: AsyncSession, delivery_id: str, sites: list[str] | None = None
) -> Delivery:
    """The delivery, or a 404 if it does not exist or belongs outside the caller's sites."""
    delivery = await get_or_404(session, Delivery, delivery_id, detail=f"no delivery {delivery_id}")
    if sites is not None:
        release = await session.get(Release, (delivery.content_id, delivery.version))
        if release is None or release.site not in sites:
            raise NotFound(f"no delivery {delivery_id}", field="id")
    return delivery


async def get_delivery(
    session: AsyncSession, delivery_id: str, sites: list[str] | None = None
) -> dict[str, Any]:
    """One delivery with its attempt log; outside the caller's sites it does not exist."""
    delivery = await visible_delivery(session, delivery_id, sites)
    query = (
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id) == delivery_id)
        .order_by(col(DeliveryAttempt.id))
    )
    attempts = [attempt_out(a) for a in (await session.exec(query))]
    audit = (
        select(DeliveryAction)
        .where(col(DeliveryAction.delivery_id) == delivery_id)
        .order_by(col(DeliveryAction.id))
    )
    actions = [action_out(a) for a in (await session.exec(audit))]
    return {**delivery_out(delivery), "log": attempts, "actions": actions}
