"""The webhook dispatcher: a job step that sends due deliveries and records every outcome.

Exactly once, as far as a receiver can tell: a delivery is marked `sending` (attempts + 1, a
lease) and committed (`run.checkpoint()`) *before* the request goes out, and each outcome is
settled and committed on its own once its send is back (by the pass that finds it done). A
process killed in between leaves a `sending` row whose lease expires; it is sent again with the
same `webhook-id`, which Standard Webhooks receivers use to drop duplicates. On PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets several workers share the queue without claiming a row twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import prometheus_client
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from common.events import utcnow
from common.jobs import JobRun
from common.secretbox import SecretBox
from services.distribute import audit
from services.distribute.models import Delivery, DeliveryAttempt, Retraction, WebhookEndpoint
from services.distribute.publishing import announce, retry_detail, settle_release
from services.distribute.retraction import settle_takedowns, waiting_takedowns
from services.distribute.settings import DistributeSettings
from services.distribute.webhooks import SendResult, retry_delay

log = logging.getLogger(__name__)
GONE = 410
WEBHOOK_ATTEMPTS = prometheus_client.Counter(
    "kitchen_webhook_attempts_total", "Webhook send attempts", ["outcome"]
)
WEBHOOK_SECONDS = prometheus_client.Histogram(
    "kitchen_webhook_send_seconds", "Webhook send duration"
)


class Sender(Protocol):
    """Posts one signed attempt (`services.distribute.clients.webhooks.WebhookSender`)."""

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> SendResult: ...


@dataclass(frozen=True)
class Claim:
    """What one attempt needs, read while the row was claimed."""

    delivery_id: str
    endpoint_id: str
    attempt: int
    url: str
    secret: str = field(repr=False)  # opened from the sealed column; never logged
    payload: bytes = field(repr=False)
    retry_base: int = 0  # attempts made before the current retry budget began


class WebhookDispatcher:
    """Sends outlive the pass that started them: a slow receiver holds its own slots (at most
    `webhook_endpoint_concurrency`), never the pass, so other endpoints' deliveries go on."""

    def __init__(self, settings: DistributeSettings, sender: Sender) -> None:
        self.settings = settings
        self.sender = sender
        self.box = SecretBox.from_settings(settings)
        self.inflight: dict[asyncio.Future[SendResult | None], Claim] = {}
        # sends in flight per endpoint: a slow or dead receiver cannot take every slot
        self.busy: Counter[str] = Counter()

    async def step(self, run: JobRun) -> int:
        """One pass: settle the sends that came back, lease what is due (committed before
        anything is sent), start those sends, and settle what answers within the poll interval;
        returns how many sends it started or settled."""
        handled = await self.settle_finished(run)
        handled += await self.start_due(run)
        if self.inflight:
            await asyncio.wait(
                set(self.inflight),
                timeout=self.settings.webhook_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            handled += await self.settle_finished(run)
        return handled

    async def start_due(self, run: JobRun) -> int:
        """Lease what capacity allows and start sending it; returns how many were started."""
        room = self.settings.webhook_batch_size - len(self.inflight)
        if room <= 0:
            return 0
        claims = await self.lease(run, room)
        for claim in claims:
            self.inflight[asyncio.ensure_future(self._send(claim))] = claim
        return len(claims)

    async def lease(self, run: JobRun, limit: int) -> list[Claim]:
        """Claim up to `limit` due deliveries and commit the leases before anything is sent."""
        claims = await self.claim(run.session, limit, skip_locked=not run.database.is_sqlite)
        try:
            await run.checkpoint()
        except BaseException:
            for claim in claims:
                self.busy[claim.endpoint_id] -= 1
            raise
        return claims

    async def settle_finished(self, run: JobRun) -> int:
        """Record the outcome of every send that came back, each committed on its own."""
        finished = [send for send in self.inflight if send.done()]
        for send in finished:
            claim = self.inflight.pop(send)
            try:
                result = None if send.cancelled() else send.result()
                if result is not None:
                    await self._settle_logged(run, claim, result)
            finally:
                self.busy[claim.endpoint_id] -= 1
        return len(finished)

    async def drain(self, run: JobRun) -> int:
        """Wait for every send in flight and settle it (tests; a pass never waits this long)."""
        if self.inflight:
            await asyncio.wait(set(self.inflight))
        return await self.settle_finished(run)

    async def attempt(self, run: JobRun, claim: Claim) -> None:
        """Send one claimed delivery and commit its outcome."""
        try:
            result = await self.sender.send(
                claim.url, claim.secret, claim.delivery_id, claim.payload
            )
            await self.record(run.session, claim, result)
            await run.checkpoint()
        finally:
            self.busy[claim.endpoint_id] -= 1

    async def _send(self, claim: Claim) -> SendResult | None:
        try:
            return await self.sender.send(claim.url, claim.secret, claim.delivery_id, claim.payload)
        except Exception:  # the lease expires and the delivery is retried with the same id
            log.exception("sending delivery %s failed", claim.delivery_id)
            return None

    async def _settle_logged(self, run: JobRun, claim: Claim, result: SendResult) -> None:
        try:
            await self.record(run.session, claim, result)
            await run.checkpoint()  # each outcome in its own short transaction, as it lands
        except Exception:  # the lease expires and the delivery is retried with the same id
            log.exception("settling delivery %s failed", claim.delivery_id)
            await run.session.rollback()

    def due_query(self, now: datetime, limit: int) -> SelectOfScalar[Delivery]:
        return (
            select(Delivery)
            .where(
                col(Delivery.channel) == "webhook",
                or_(
                    and_(col(Delivery.state) == "pending", col(Delivery.next_attempt_at) <= now),
                    and_(col(Delivery.state) == "sending", col(Delivery.lease_until) <= now),
                ),
            )
            # oldest due first, in a total order: a fan-out's thousands of rows due at the same
            # moment go in creation order, and whatever came due earlier goes before them
            .order_by(col(Delivery.next_attempt_at), col(Delivery.created_at), col(Delivery.id))
            .limit(limit)
        )

    async def claim(
        self, session: AsyncSession, limit: int, *, skip_locked: bool = False
    ) -> list[Claim]:
        """Mark up to `limit` due deliveries as sending (the caller commits before sending).

        Deliveries to an endpoint already at `webhook_endpoint_concurrency` stay pending for a
        later pass; looking a few times further than `limit` lets other endpoints go first.
        """
        now = utcnow()
        cap = self.settings.webhook_endpoint_concurrency
        query = self.due_query(now, limit * 4)
        if skip_locked:  # PostgreSQL: workers share the queue without claiming a row twice
            query = query.with_for_update(skip_locked=True)
        lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        claims: list[Claim] = []
        due = list(await session.exec(query))
        retracted = await _retracted_versions(session, due)
        for delivery in due:
            if len(claims) >= limit:
                break
            if delivery.action == "publish" and delivery.version <= retracted.get(
                delivery.content_id, 0
            ):  # e.g. its lease expired after the takedown was queued: never resend it
                await self._cancel(session, delivery, "retracted before retry")
                await settle_takedowns(session, delivery)
                continue
            endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is None or not endpoint.active or delivery.payload is None:
                await self._cancel(session, delivery, "webhook endpoint deleted")
                continue
            if self.busy[endpoint.id] >= cap:
                continue
            try:
                secret = self.box.open(endpoint.secret)
            except ValueError:  # sealed with another data key: a configuration fault
                log.error("webhook endpoint %s: secret unreadable with this key", endpoint.id)
                delivery.next_attempt_at = delivery.lease_until = lease  # look again later
                delivery.last_error = "signing secret unreadable with the configured data key"
                session.add(delivery)
                continue
            self.busy[endpoint.id] += 1
            delivery.state, delivery.attempts = "sending", delivery.attempts + 1
            delivery.lease_until, delivery.updated_at = lease, now
            session.add(delivery)
            claims.append(
                Claim(
                    delivery.id,
                    endpoint.id,
                    delivery.attempts,
                    endpoint.url,
                    secret,
                    delivery.payload,
                    delivery.retry_base,
                )
            )
        return claims

    async def _cancel(self, session: AsyncSession, delivery: Delivery, reason: str) -> None:
        delivery.state, delivery.last_error, delivery.updated_at = "cancelled", reason, utcnow()
        session.add(delivery)
        await announce(session, delivery)
        if delivery.action == "publish":
            await session.flush()
            await settle_release(session, delivery.content_id, delivery.version)

    async def record(self, session: AsyncSession, claim: Claim, result: SendResult) -> None:
        """Settle one attempt's outcome; a 410 switches the endpoint off (audited)."""
        gone = result.status_code == GONE and await self._switch_off(session, claim.endpoint_id)
        await self.settle(session, claim, result)
        if gone:  # the chain's head is taken last (see services.distribute.audit)
            detail = {"reason": "the receiver answered 410 Gone", "delivery": claim.delivery_id}
            action = "webhook_endpoint.switched_off"
            await audit.record(session, audit.SYSTEM, action, claim.endpoint_id, detail)
        WEBHOOK_ATTEMPTS.labels(outcome=result.outcome).inc()
        WEBHOOK_SECONDS.observe(result.duration_ms / 1000)

    async def _switch_off(self, session: AsyncSession, endpoint_id: str) -> bool:
        """410 Gone: the receiver says the endpoint no longer exists (Standard Webhooks).
        True if this switched it off."""
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or not endpoint.active:
            return False
        log.warning("webhook endpoint %s answered 410; switched off", endpoint_id)
        endpoint.active, endpoint.deleted_at = False, utcnow()
        session.add(endpoint)
        return True

    async def settle(self, session: AsyncSession, claim: Claim, result: SendResult) -> None:
        """Record the attempt and the delivery's next state; a row that changed meanwhile (an
        expired lease re-claimed it) keeps the newer claim's state, only the log gets the row."""
        now = utcnow()
        outcome: str = result.outcome
        schedule = self.settings.webhook_retry_schedule
        delay = retry_delay(claim.attempt - claim.retry_base, schedule)
        if outcome == "retry" and delay is None:
            outcome = "failed"
        session.add(
            DeliveryAttempt(
                delivery_id=claim.delivery_id,
                number=claim.attempt,
                outcome=outcome,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
                at=now,
            )
        )
        query = select(Delivery).where(col(Delivery.id) == claim.delivery_id).with_for_update()
        delivery = (await session.exec(query)).one_or_none()
        if delivery is None or delivery.state != "sending" or delivery.attempts != claim.attempt:
            return
        delivery.last_error, delivery.updated_at, delivery.lease_until = result.error, now, None
        takedowns = (
            await waiting_takedowns(session, delivery) if delivery.action == "publish" else []
        )
        if outcome == "retry" and takedowns:  # retracted meanwhile: no more publishing
            outcome, delivery.last_error = "cancelled", f"retracted before retry; {result.error}"
        if outcome == "retry":
            delivery.state = "pending"
            delivery.next_attempt_at = now + timedelta(seconds=delay or 0)
            session.add(delivery)
            detail = retry_detail(claim.attempt, delivery.next_attempt_at, result.error)
            await announce(session, delivery, state="retrying", detail=detail)
            return
        delivery.state = outcome
        delivery.delivered_at = now if outcome == "delivered" else None
        delivery.next_attempt_at = None
        session.add(delivery)
        await announce(session, delivery)
        if delivery.action == "publish":
            await session.flush()
            await settle_release(session, delivery.content_id, delivery.version)
            await settle_takedowns(session, delivery, takedowns)


async def _retracted_versions(session: AsyncSession, deliveries: list[Delivery]) -> dict[str, int]:
    """content id -> the highest retracted version, for the publications among `deliveries`."""
    ids = {d.content_id for d in deliveries if d.action == "publish"}
    if not ids:
        return {}
    query = select(col(Retraction.content_id), col(Retraction.up_to_version)).where(
        col(Retraction.content_id).in_(ids)
    )
    return {row.content_id: row.up_to_version for row in await session.execute(query)}
