"""The webhook dispatcher: a periodic job that sends due deliveries and records every outcome.

Exactly once, as far as a receiver can tell: a delivery is marked `sending` (attempts + 1, a
lease) and committed *before* the request goes out, and settled in a second transaction after.
A process killed in between leaves a `sending` row whose lease expires; it is sent again with the
same `webhook-id`, which Standard Webhooks receivers use to drop duplicates. On PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets several workers share the queue without claiming a row twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import prometheus_client
from sqlalchemy import Select, and_, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.backoff import Backoff
from common.db import Database
from common.events import utcnow
from common.outbound import OutboundPolicy, outbound_client
from common.secretbox import SecretBox
from common.worker import PeriodicJob
from services.distribute import audit
from services.distribute.doorbell import Doorbell
from services.distribute.models import Delivery, DeliveryAttempt, Retraction, WebhookEndpoint
from services.distribute.publishing import announce, retry_detail, settle_release
from services.distribute.retraction import settle_takedowns, waiting_takedowns
from services.distribute.settings import DistributeSettings
from services.distribute.webhooks import SendResult, WebhookSender, retry_delay

log = logging.getLogger(__name__)
GONE = 410
WEBHOOK_ATTEMPTS = prometheus_client.Counter(
    "kitchen_webhook_attempts_total", "Webhook send attempts", ["outcome"]
)
WEBHOOK_SECONDS = prometheus_client.Histogram(
    "kitchen_webhook_send_seconds", "Webhook send duration"
)


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
    def __init__(
        self,
        settings: DistributeSettings,
        sender: WebhookSender,
        doorbell: Doorbell | None = None,
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.box = SecretBox.from_settings(settings)
        self.doorbell = doorbell or Doorbell()
        self.inflight: set[asyncio.Task[None]] = set()
        # sends in flight per endpoint: a slow or dead receiver cannot take every slot
        self.busy: Counter[str] = Counter()

    def due_query(self, now: datetime, limit: int) -> Select[tuple[Delivery]]:
        return (
            select(Delivery)
            .where(
                Delivery.channel == "webhook",
                or_(
                    and_(Delivery.state == "pending", Delivery.next_attempt_at <= now),
                    and_(Delivery.state == "sending", Delivery.lease_until <= now),
                ),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )

    async def claim(self, database: Database, limit: int) -> list[Claim]:
        """Mark up to `limit` due deliveries as sending and commit before anything is sent.

        Deliveries to an endpoint already at `webhook_endpoint_concurrency` stay pending for a
        later pass; looking a few times further than `limit` lets other endpoints go first.
        """
        now = utcnow()
        cap = self.settings.webhook_endpoint_concurrency
        query = self.due_query(now, limit * 4)
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        claims: list[Claim] = []
        async with database.sessions() as session:
            due = list((await session.execute(query)).scalars())
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
            await session.commit()
        return claims

    async def _cancel(self, session: AsyncSession, delivery: Delivery, reason: str) -> None:
        delivery.state, delivery.last_error, delivery.updated_at = "cancelled", reason, utcnow()
        session.add(delivery)
        await announce(session, delivery)
        if delivery.action == "publish":
            await session.flush()
            await settle_release(session, delivery.content_id, delivery.version)

    async def attempt(self, database: Database, claim: Claim) -> None:
        result = await self.sender.send(claim.url, claim.secret, claim.delivery_id, claim.payload)
        async with database.sessions() as session:
            gone = result.status_code == GONE and await self._switch_off(session, claim.endpoint_id)
            await self.settle(session, claim, result)
            if gone:  # the chain's head is taken last (see services.distribute.audit)
                detail = {"reason": "the receiver answered 410 Gone", "delivery": claim.delivery_id}
                action = "webhook_endpoint.switched_off"
                await audit.record(session, audit.SYSTEM, action, claim.endpoint_id, detail)
            await session.commit()
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
        outcome = result.outcome
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
        query = select(Delivery).where(Delivery.id == claim.delivery_id).with_for_update()
        delivery = (await session.execute(query)).scalar_one_or_none()
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

    async def run_once(self, database: Database) -> int:
        """Claim what capacity allows and start sending; returns how many were started."""
        room = self.settings.webhook_batch_size - len(self.inflight)
        if room <= 0:
            return 0
        claims = await self.claim(database, room)
        for claim in claims:
            task = asyncio.create_task(self._attempt_logged(database, claim))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        return len(claims)

    async def _attempt_logged(self, database: Database, claim: Claim) -> None:
        try:
            await self.attempt(database, claim)
        except Exception:  # the lease expires and the delivery is retried with the same id
            log.exception("settling delivery %s failed", claim.delivery_id)
        finally:
            self.busy[claim.endpoint_id] -= 1

    async def drain(self) -> None:
        await asyncio.gather(*self.inflight, return_exceptions=True)

    async def run(self, database: Database) -> None:
        backoff = Backoff()
        while True:
            try:
                started = await self.run_once(database)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatcher failed; retrying in %.1fs", backoff.delay)
                await backoff.wait()
                continue
            if not started:
                await self.doorbell.wait(self.settings.webhook_poll_seconds)


async def _retracted_versions(session: AsyncSession, deliveries: list[Delivery]) -> dict[str, int]:
    """content id -> the highest retracted version, for the publications among `deliveries`."""
    ids = {d.content_id for d in deliveries if d.action == "publish"}
    if not ids:
        return {}
    query = select(Retraction.content_id, Retraction.up_to_version).where(
        Retraction.content_id.in_(ids)
    )
    return {row.content_id: row.up_to_version for row in await session.execute(query)}


def webhook_job(settings: DistributeSettings, doorbell: Doorbell) -> PeriodicJob:
    """The `ServiceSpec.jobs` entry: owns its HTTP client for as long as the worker runs."""

    async def job(database: Database) -> None:
        timeout = httpx.Timeout(settings.webhook_timeout_seconds)
        # guarded: an endpoint's URL (checked at registration) is checked again at every send
        policy = OutboundPolicy.from_settings(settings)
        async with outbound_client(policy, timeout=timeout) as client:
            dispatcher = WebhookDispatcher(settings, WebhookSender(client), doorbell)
            try:
                await dispatcher.run(database)
            finally:
                for task in dispatcher.inflight:
                    task.cancel()
                await dispatcher.drain()

    return job
