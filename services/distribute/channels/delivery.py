"""The new-media job step: posts to WeChat and Weibo accounts, each exactly once.

A pass leases the due deliveries — at most one per account — and commits the leases
(`run.checkpoint()`) before any call goes out. Then it runs rounds: one adapter call per leased
delivery (concurrently), each outcome recorded and committed on its own; a delivery whose step
succeeded goes on in the next round. Before a step that makes the post public
(`adapter.final_steps`) the job records `progress["attempting"]` and commits it. From then on,
until an answer proves the post was refused or is absent, the delivery is only ever reconciled
by reading the account back (`adapter.confirm`) — whether the answer was lost (UNKNOWN), the
platform says it has it (DUPLICATE), the lease expired or the process died. Never a blind resend.

Due: `pending`/`parked` whose `next_attempt_at` has come (a parked one never earlier: its quota
reset), `confirming`/`unknown` whose next read-back is due, `sending` whose lease expired. On
PostgreSQL `FOR UPDATE SKIP LOCKED` lets workers share the queue. The outcome rules are in
`channels.outcomes`; limits in `channels.quota`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import prometheus_client
from sqlalchemy import and_, or_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import utcnow
from common.jobs import JobRun
from common.secretbox import SecretBox
from services.distribute.accounts import account_access
from services.distribute.channels import quota
from services.distribute.channels.adapters import ChannelAdapters
from services.distribute.channels.contract import (
    PLATFORMS,
    RESPONSE_LIMIT,
    AccountAccess,
    ChannelAdapter,
    Outcome,
    StepResult,
    variant_hash,
)
from services.distribute.channels.outcomes import (
    MAX_RETRIES,
    outcome_detail,
    publish_state,
    retract_state,
    retry_delay,
)
from services.distribute.models import (
    ChannelAccount,
    ChannelPost,
    ChannelVariant,
    Delivery,
    DeliveryAttempt,
    Retraction,
)
from services.distribute.pagetags import iso
from services.distribute.publishing import announce, settle_release
from services.distribute.retraction import settle_takedowns
from services.distribute.settings import DistributeSettings

log = logging.getLogger(__name__)
CHANNEL_BATCH = 20  # deliveries leased per pass (one per account)
MAX_ROUNDS = 200  # calls per delivery per pass (a WeChat post: each image, cover, draft, submit)
ACCOUNT_LOCK = 8104  # advisory lock space of account leases (8103 is the change feed's)
DUE_STATES = ("pending", "parked", "confirming", "unknown")
SETTLED = ("delivered", "failed", "cancelled", "needs_edit")
VARIANT_CHANGED = "variant changed after approval"
CHANNEL_ATTEMPTS = prometheus_client.Counter(
    "kitchen_channel_attempts_total", "New-media platform calls", ["platform", "outcome"]
)
CHANNEL_CONFIG_ERRORS = prometheus_client.Counter(
    "kitchen_channel_config_errors_total",
    "Calls refused for an account's or app's configuration (alert)",
    ["platform"],
)


@dataclass
class Claim:
    """A leased delivery and what its next call needs. `mode`: `publish` (the next step),
    `confirm` (read back) or `retract`; `attempts` is the delivery's count when leased by this
    pass (a row whose count moved on was re-leased elsewhere: its outcome is only logged)."""

    delivery_id: str
    account_id: str
    platform: str
    action: str
    mode: str
    attempts: int
    resume_state: str
    marker: str
    access: AccountAccess = field(repr=False)
    variant: dict[str, Any] = field(default_factory=dict, repr=False)
    progress: dict[str, Any] = field(default_factory=dict)
    step: str = ""


class ChannelDispatcher:
    """`step(run)` is the `channels` job's pass; `adapters.get(platform)` gives the adapters."""

    def __init__(
        self, settings: DistributeSettings, adapters: ChannelAdapters, box: SecretBox | None = None
    ) -> None:
        self.settings = settings
        self.adapters = adapters
        self.box = box or SecretBox.from_settings(settings)

    async def step(self, run: JobRun) -> int:
        """One pass: lease (committed), then call and record round by round until every leased
        delivery has stopped (settled, waiting or backed off); returns how many were leased."""
        claims = await self.lease(run)
        leased = len(claims)
        for _ in range(MAX_ROUNDS):  # an adapter that never stops stepping ends the pass
            if not claims:
                break
            results = await asyncio.gather(*(self.call(c) for c in claims))
            going: list[Claim] = []
            for claim, result in zip(claims, results, strict=True):
                if await self._record_logged(run, claim, result):
                    going.append(claim)
            claims = going
        return leased

    # --- leasing ---------------------------------------------------------------------------

    async def lease(self, run: JobRun, limit: int = CHANNEL_BATCH) -> list[Claim]:
        """Claim up to `limit` due deliveries, one per account, and commit the leases (and any
        `attempting` mark) before anything is called."""
        session, now = run.session, utcnow()
        query = self.due_query(now, limit * 4)
        if not run.database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        shared = not run.database.is_sqlite
        busy = await self._busy_accounts(session, now)
        claims: list[Claim] = []
        for delivery in list(await session.exec(query)):
            if len(claims) >= limit or delivery.account_id in busy:
                continue
            if shared and not await self._account_free(session, delivery.account_id, now):
                busy.add(delivery.account_id)
                continue
            claim = await self._prepare(session, delivery, now)
            if claim is not None:
                busy.add(claim.account_id)
                claims.append(claim)
        await run.checkpoint()
        return claims

    def due_query(self, now: datetime, limit: int) -> Any:
        return (
            select(Delivery)
            .where(
                col(Delivery.channel).in_(PLATFORMS),
                or_(
                    and_(col(Delivery.state).in_(DUE_STATES), col(Delivery.next_attempt_at) <= now),
                    and_(col(Delivery.state) == "sending", col(Delivery.lease_until) <= now),
                ),
            )
            .order_by(col(Delivery.next_attempt_at), col(Delivery.created_at), col(Delivery.id))
            .limit(limit)
        )

    async def _busy_accounts(self, session: AsyncSession, now: datetime) -> set[str | None]:
        query = select(col(Delivery.account_id)).where(
            col(Delivery.channel).in_(PLATFORMS),
            col(Delivery.state) == "sending",
            col(Delivery.lease_until) > now,
        )
        return set((await session.exec(query)).all())

    async def _account_free(
        self, session: AsyncSession, account_id: str | None, now: datetime
    ) -> bool:
        """PostgreSQL, several workers: take the account's lease lock (held until this pass
        commits its leases) and look again whether another worker has a post of it in flight —
        so each account has at most one post in flight across every worker."""
        key = int.from_bytes(
            hashlib.sha256(str(account_id).encode()).digest()[:4], "big", signed=True
        )
        query = text("SELECT pg_try_advisory_xact_lock(:space, :key)")
        locked = (await session.execute(query, {"space": ACCOUNT_LOCK, "key": key})).scalar()
        if not locked:
            return False
        busy = select(col(Delivery.id)).where(
            col(Delivery.account_id) == account_id,
            col(Delivery.state) == "sending",
            col(Delivery.lease_until) > now,
        )
        return (await session.execute(busy.limit(1))).first() is None

    async def _prepare(
        self, session: AsyncSession, delivery: Delivery, now: datetime
    ) -> Claim | None:
        """Lease one delivery, or settle/defer it when it must not go (its account closed or
        suspended, its item retracted, its variant changed, its quota full)."""
        account = await session.get(ChannelAccount, delivery.account_id)
        if account is None or account.status == "closed":
            name = account.name if account else delivery.account_id
            await self.finish(session, delivery, "cancelled", f"新媒体账号“{name}”已注销")
            return None
        if account.status != "active":  # suspended: the post waits, looked at again later
            later = now + timedelta(seconds=self.settings.channel_lease_seconds)
            delivery.next_attempt_at = later
            if delivery.state == "sending":  # in doubt when suspended: still read back later
                delivery.lease_until = later
            session.add(delivery)
            return None
        if delivery.action == "retract":
            return await self._prepare_retract(session, delivery, account, now)
        return await self._prepare_publish(session, delivery, account, now)

    async def _prepare_publish(
        self, session: AsyncSession, delivery: Delivery, account: ChannelAccount, now: datetime
    ) -> Claim | None:
        post = await session.get(ChannelPost, delivery.id)
        variant = await session.get(
            ChannelVariant, (delivery.content_id, delivery.version, account.platform)
        )
        if post is None or variant is None:
            await self.finish(session, delivery, "failed", VARIANT_CHANGED)
            return None
        reconcile = "attempting" in post.progress  # in doubt: only ever read back
        if not reconcile and not _approved(variant, post):
            await self.finish(session, delivery, "failed", VARIANT_CHANGED)
            return None
        if not reconcile and await self._retracted(session, delivery):
            await self.finish(session, delivery, "cancelled", "retracted before sending")
            return None
        if not reconcile and not await self._admitted(session, delivery, account, post, now):
            return None
        claim = self._claim(delivery, account, post, now, "confirm" if reconcile else "publish")
        if claim is None:
            return None
        claim.variant = dict(variant.body)
        if not reconcile:
            self._mark_final(claim, post)
        session.add(post)
        return claim

    async def _admitted(
        self,
        session: AsyncSession,
        delivery: Delivery,
        account: ChannelAccount,
        post: ChannelPost,
        now: datetime,
    ) -> bool:
        """Whether the post may go now: within the account's and app's windows (counted once,
        when it first goes) and under no pause the platform imposed; else it waits until then."""
        if post.progress.get("counted"):
            until = await quota.paused_until(session, account, now)
        else:
            blocked = await quota.blocked_until(session, account, self.settings, now)
            until = blocked[0] if blocked else None
        if until is not None:
            delivery.next_attempt_at, delivery.updated_at = until, now
            session.add(delivery)
            return False
        if not post.progress.get("counted"):
            await quota.take(session, account, self.settings, now)
            post.progress = {**post.progress, "counted": True}
        return True

    async def _prepare_retract(
        self, session: AsyncSession, delivery: Delivery, account: ChannelAccount, now: datetime
    ) -> Claim | None:
        publication = await self._publication(session, delivery)
        post = await session.get(ChannelPost, publication.id) if publication else None
        if post is None:
            await self.finish(session, delivery, "failed", "no post to take down")
            return None
        return self._claim(delivery, account, post, now, "retract")

    def _claim(
        self,
        delivery: Delivery,
        account: ChannelAccount,
        post: ChannelPost,
        now: datetime,
        mode: str,
    ) -> Claim | None:
        try:
            access = account_access(account, self.box)
        except ValueError:  # sealed with another data key: a configuration fault
            log.error("channel account %s: credentials unreadable with this key", account.id)
            CHANNEL_CONFIG_ERRORS.labels(platform=account.platform).inc()
            delivery.next_attempt_at = now + timedelta(seconds=self.settings.channel_lease_seconds)
            delivery.last_error = "账号凭据无法用当前数据密钥解开"
            return None
        resume_state = delivery.state
        delivery.state, delivery.attempts = "sending", delivery.attempts + 1
        delivery.lease_until = now + timedelta(seconds=self.settings.channel_lease_seconds)
        delivery.updated_at = now
        return Claim(
            delivery_id=delivery.id,
            account_id=account.id,
            platform=account.platform,
            action=delivery.action,
            mode=mode,
            attempts=delivery.attempts,
            resume_state=resume_state,
            marker=post.marker,
            access=access,
            progress=dict(post.progress),
        )

    def _mark_final(self, claim: Claim, post: ChannelPost) -> None:
        """Before a step that makes the post public, record that it is being attempted (the
        caller commits before the call)."""
        adapter = self.adapters.get(claim.platform)
        claim.step = adapter.next_step(claim.variant, claim.progress)
        if claim.step in adapter.final_steps:
            claim.progress = {**claim.progress, "attempting": claim.step}
            post.progress = dict(claim.progress)

    async def _retracted(self, session: AsyncSession, delivery: Delivery) -> bool:
        retraction = await session.get(Retraction, delivery.content_id)
        return retraction is not None and delivery.version <= retraction.up_to_version

    async def _publication(self, session: AsyncSession, takedown: Delivery) -> Delivery | None:
        query = select(Delivery).where(
            col(Delivery.content_id) == takedown.content_id,
            col(Delivery.version) == takedown.version,
            col(Delivery.target) == takedown.target,
            col(Delivery.action) == "publish",
        )
        return (await session.exec(query)).first()

    # --- calling ---------------------------------------------------------------------------

    async def call(self, claim: Claim) -> StepResult:
        """One adapter call for the claim; an adapter that raises (it should not) gives UNKNOWN
        for a final step (it may have gone out), RETRY otherwise."""
        adapter = self.adapters.get(claim.platform)
        started = time.perf_counter()
        try:
            result = await self._invoke(adapter, claim)
        except Exception as error:
            log.exception("channel call for delivery %s raised", claim.delivery_id)
            final = "attempting" in claim.progress
            outcome = Outcome.UNKNOWN if final else Outcome.RETRY
            result = StepResult(outcome, error=f"{type(error).__name__}: {error}"[:500])
        if not result.duration_ms:
            result.duration_ms = int((time.perf_counter() - started) * 1000)
        return result

    async def _invoke(self, adapter: ChannelAdapter, claim: Claim) -> StepResult:
        if claim.mode == "confirm":
            return await adapter.confirm(claim.access, claim.marker, claim.progress)
        if claim.mode == "retract":
            return await adapter.retract(claim.access, claim.progress)
        return await adapter.publish(claim.access, claim.variant, claim.marker, claim.progress)

    # --- recording -------------------------------------------------------------------------

    async def _record_logged(self, run: JobRun, claim: Claim, result: StepResult) -> bool:
        """Record one outcome and commit it; True if the delivery goes on at once."""
        try:
            going = await self.record(run.session, claim, result)
            await run.checkpoint()
        except Exception:  # the lease expires and the delivery is reconciled
            log.exception("recording channel delivery %s failed", claim.delivery_id)
            await run.session.rollback()
            return False
        return going

    async def record(self, session: AsyncSession, claim: Claim, result: StepResult) -> bool:
        """Log the call and move the delivery on; True if it goes on with another call now
        (its `attempting` mark, if the next step is final, is part of what the caller commits)."""
        now = utcnow()
        CHANNEL_ATTEMPTS.labels(platform=claim.platform, outcome=str(result.outcome)).inc()
        session.add(_attempt_row(claim, result, now))
        delivery = await self._held(session, claim)
        if delivery is None:
            return False
        post = await self._post(session, delivery)
        if post is None:
            await self.finish(session, delivery, "failed", "no post to take down")
            return False
        if claim.mode == "retract":
            await self._after_retract(session, delivery, post, claim, result, now)
            return False
        _merge(post, result, now)
        claim.progress = dict(post.progress)
        if claim.mode == "confirm":
            return await self._after_confirm(session, delivery, post, claim, result, now)
        return await self._after_publish(session, delivery, post, claim, result, now)

    async def _held(self, session: AsyncSession, claim: Claim) -> Delivery | None:
        """The delivery, locked, if this pass still holds its lease."""
        query = select(Delivery).where(col(Delivery.id) == claim.delivery_id).with_for_update()
        query = query.execution_options(populate_existing=True)
        delivery = (await session.exec(query)).one_or_none()
        if delivery is None or delivery.state != "sending" or delivery.attempts != claim.attempts:
            return None
        return delivery

    async def _post(self, session: AsyncSession, delivery: Delivery) -> ChannelPost | None:
        if delivery.action == "publish":
            return await session.get(ChannelPost, delivery.id, populate_existing=True)
        publication = await self._publication(session, delivery)
        return await session.get(ChannelPost, publication.id) if publication else None

    async def _after_publish(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        claim: Claim,
        result: StepResult,
        now: datetime,
    ) -> bool:
        outcome = result.outcome
        final = "attempting" in post.progress
        if outcome is Outcome.UNKNOWN and not final:
            outcome = Outcome.RETRY  # a preparatory step: doing it again publishes nothing
        if outcome is Outcome.DUPLICATE:  # read back: ours, or someone else's like it
            _set_progress(post, attempting=claim.step or "publish", duplicate=_error_of(result))
        if outcome in (Outcome.STEP_DONE, Outcome.ABSENT):
            _set_progress(post, retries=0)
            return await self._go_on(session, delivery, post, claim, now)
        if outcome not in (Outcome.ACCEPTED, Outcome.UNKNOWN, Outcome.DUPLICATE):
            _set_progress(post, attempting=None)  # refused or done: nothing is in doubt
        return await self._apply(session, delivery, post, claim, result, outcome, now)

    async def _after_confirm(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        claim: Claim,
        result: StepResult,
        now: datetime,
    ) -> bool:
        outcome = result.outcome
        if outcome is Outcome.ABSENT:  # no trace of it: sending is safe (unless retracted)
            return await self._absent(session, delivery, post, claim, now)
        if outcome in (Outcome.RETRY, Outcome.UNKNOWN, Outcome.STEP_DONE):
            # reading back failed: the post stays in doubt and is read back again later
            retries = int(post.progress.get("retries", 0)) + 1
            _set_progress(post, retries=retries)
            state = (
                claim.resume_state if claim.resume_state in ("confirming", "unknown") else "unknown"
            )
            delay = retry_delay(retries)
            await self._wait(session, delivery, state, now + timedelta(seconds=delay), result)
            return False
        if outcome in (Outcome.FAILED, Outcome.PUBLISHED):
            _set_progress(post, attempting=None)
        return await self._apply(session, delivery, post, claim, result, outcome, now)

    async def _absent(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        claim: Claim,
        now: datetime,
    ) -> bool:
        """Reading back found no trace of the post: it is sent again — unless the item was
        retracted meanwhile, or the platform had called it a duplicate (then it is like another
        post, not ours: back to the editors, rather than a loop of refused resends)."""
        duplicate = post.progress.get("duplicate")
        resends = int(post.progress.get("resends", 0)) + 1
        _set_progress(post, attempting=None, retries=0, duplicate=None, resends=resends)
        if await self._retracted(session, delivery):
            await self.finish(session, delivery, "cancelled", "retracted before sending")
            return False
        if duplicate:
            reason = f"平台认为内容与已发布的内容重复，但账号上没有本稿件：{duplicate}"
            await self.finish(session, delivery, "needs_edit", reason)
            return False
        if resends > MAX_RETRIES:
            await self.finish(session, delivery, "failed", f"read back absent {resends} times")
            return False
        await announce(session, delivery, state="pending", detail="回读未发现该稿件，重新发送")
        return await self._go_on(session, delivery, post, claim, now)

    async def _go_on(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        claim: Claim,
        now: datetime,
    ) -> bool:
        """Another call at once: the lease is extended, the next step marked if final."""
        delivery.lease_until = now + timedelta(seconds=self.settings.channel_lease_seconds)
        delivery.attempts += 1
        delivery.updated_at = now
        session.add(delivery)
        claim.attempts, claim.mode = delivery.attempts, "publish"
        claim.progress = dict(post.progress)
        self._mark_final(claim, post)
        session.add(post)
        return True

    async def _apply(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        claim: Claim,
        result: StepResult,
        outcome: Outcome,
        now: datetime,
    ) -> bool:
        """Move a publish delivery to the state its outcome leads to."""
        session.add(post)
        state = publish_state(outcome)
        if outcome is Outcome.ACCEPTED:
            until = now + timedelta(seconds=self.settings.wechat_confirm_seconds)
            announce_it = claim.resume_state != "confirming"
            await self._wait(session, delivery, "confirming", until, result, announce_it)
        elif outcome in (Outcome.UNKNOWN, Outcome.DUPLICATE):
            until = now + timedelta(seconds=self.settings.wechat_confirm_seconds)
            await self._wait(session, delivery, "unknown", until, result)
        elif outcome is Outcome.RETRY:
            await self._retry(session, delivery, post, result, now)
        elif outcome is Outcome.PARK:
            await self._park(session, delivery, result, now)
        else:
            if outcome is Outcome.CONFIG:
                await self._alert(session, claim, result)
            if outcome is Outcome.PUBLISHED:
                post.post_url = result.post_url[:2000] or post.post_url
                post.platform_post_id = result.platform_post_id[:100] or post.platform_post_id
                post.stage = result.stage or "published"
            error = "" if state == "delivered" else _error_of(result)
            await self.finish(session, delivery, state, error, detail=_published_detail(post))
        return False

    async def _after_retract(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        claim: Claim,
        result: StepResult,
        now: datetime,
    ) -> None:
        state = retract_state(result.outcome)
        post.last_response = result.response[:RESPONSE_LIMIT] or post.last_response
        if state == "delivered":
            post.stage, post.updated_at = "removed", now
            post.progress = {**post.progress, **result.progress}
        session.add(post)
        if state == "pending":
            await self._retry(session, delivery, post, result, now)
        elif state == "parked":
            await self._park(session, delivery, result, now)
        else:
            if result.outcome is Outcome.CONFIG:
                await self._alert(session, claim, result)
            error = "" if state == "delivered" else _error_of(result)
            await self.finish(session, delivery, state, error, detail=result.response[:500])

    async def _wait(
        self,
        session: AsyncSession,
        delivery: Delivery,
        state: str,
        until: datetime,
        result: StepResult,
        announce_it: bool = True,
    ) -> None:
        before = delivery.state
        delivery.state, delivery.next_attempt_at, delivery.lease_until = state, until, None
        delivery.last_error, delivery.updated_at = result.error[:2000], utcnow()
        session.add(delivery)
        if announce_it or before != state:
            detail = outcome_detail(result.outcome, result.error, result.error_code)
            if result.outcome is Outcome.ACCEPTED:
                detail = f"平台已受理，{iso(until)} 回读发布结果"
            await announce(session, delivery, detail=detail)

    async def _retry(
        self,
        session: AsyncSession,
        delivery: Delivery,
        post: ChannelPost,
        result: StepResult,
        now: datetime,
    ) -> None:
        """Back off with jitter; a delivery out of retries fails."""
        retries = int(post.progress.get("retries", 0)) + 1
        post.progress = {**post.progress, "retries": retries}
        session.add(post)
        if retries > MAX_RETRIES:
            await self.finish(
                session, delivery, "failed", f"gave up after {retries} tries: {_error_of(result)}"
            )
            return
        delay = max(retry_delay(retries), result.retry_after or 0.0)
        until = now + timedelta(seconds=delay)
        if result.retry_after:  # the platform said when: the account's other posts wait too
            await self._pause(session, delivery, now + timedelta(seconds=result.retry_after), now)
        delivery.state, delivery.next_attempt_at, delivery.lease_until = "pending", until, None
        delivery.last_error, delivery.updated_at = _error_of(result), now
        session.add(delivery)
        detail = (
            f"{outcome_detail(result.outcome, result.error, result.error_code)}；{iso(until)} 重试"
        )
        await announce(session, delivery, state="retrying", detail=detail[:1000])

    async def _park(
        self, session: AsyncSession, delivery: Delivery, result: StepResult, now: datetime
    ) -> None:
        """Quota exhausted: parked until it resets (never retried before), and the account's
        pause recorded so its other posts wait too (and the plan shows it)."""
        account = await session.get(ChannelAccount, delivery.account_id)
        if result.retry_after is not None:
            until = now + timedelta(seconds=result.retry_after)
        else:
            until = quota.default_pause(account, now) if account else now + timedelta(hours=1)
        await self._pause(session, delivery, until, now)
        delivery.state, delivery.next_attempt_at, delivery.lease_until = "parked", until, None
        delivery.last_error, delivery.updated_at = _error_of(result), now
        session.add(delivery)
        detail = outcome_detail(result.outcome, result.error, result.error_code)
        detail = f"{detail}；{iso(until)} 后再发"
        await announce(session, delivery, detail=detail[:1000])

    async def _pause(
        self, session: AsyncSession, delivery: Delivery, until: datetime, now: datetime
    ) -> None:
        """Record a platform-imposed pause of the delivery's account (the plan shows it)."""
        account = await session.get(ChannelAccount, delivery.account_id)
        if account is not None:
            await quota.limit_until(session, [quota.account_scope(account)], until, now)

    async def _alert(self, session: AsyncSession, claim: Claim, result: StepResult) -> None:
        """A configuration error: the account says why, operators are alerted (log + metric)."""
        log.error(
            "channel account %s (%s) refused for configuration: %s %s",
            claim.account_id,
            claim.platform,
            result.error_code,
            result.error,
        )
        CHANNEL_CONFIG_ERRORS.labels(platform=claim.platform).inc()
        account = await session.get(ChannelAccount, claim.account_id)
        if account is not None:
            account.status_reason = _error_of(result)[:1000]
            account.updated_at = utcnow()
            session.add(account)

    async def finish(
        self,
        session: AsyncSession,
        delivery: Delivery,
        state: str,
        error: str,
        *,
        detail: str | None = None,
    ) -> None:
        """Settle a delivery (delivered, failed, cancelled, needs_edit), announce it, and settle
        its release and any takedown that waited for it."""
        now = utcnow()
        delivery.state, delivery.last_error, delivery.updated_at = state, error[:2000], now
        delivery.next_attempt_at = delivery.lease_until = None
        delivery.delivered_at = now if state == "delivered" else None
        session.add(delivery)
        await announce(session, delivery, detail=error or detail or "")
        if delivery.action == "publish":
            await session.flush()
            await settle_release(session, delivery.content_id, delivery.version)
            await settle_takedowns(session, delivery)


def _approved(variant: ChannelVariant, post: ChannelPost) -> bool:
    """The stored rendition is still the one approved: its recorded hash and its body's."""
    return variant.variant_hash == post.variant_hash == variant_hash(variant.body)


def _attempt_row(claim: Claim, result: StepResult, now: datetime) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=claim.delivery_id,
        number=claim.attempts,
        outcome=str(result.outcome),
        status_code=result.status_code,
        error=_error_of(result)[:2000],
        response=result.response[:RESPONSE_LIMIT],
        duration_ms=result.duration_ms,
        at=now,
    )


def _merge(post: ChannelPost, result: StepResult, now: datetime) -> None:
    post.progress = {**post.progress, **result.progress}
    post.stage = result.stage or post.stage
    post.last_response = result.response[:RESPONSE_LIMIT] or post.last_response
    post.updated_at = now


def _set_progress(post: ChannelPost, **values: Any) -> None:
    """Set (or, with None, drop) progress keys; the JSON column needs a new dict to notice."""
    progress = dict(post.progress)
    for key, value in values.items():
        if value is None:
            progress.pop(key, None)
        else:
            progress[key] = value
    post.progress = progress


def _error_of(result: StepResult) -> str:
    if result.error_code and result.error_code not in result.error:
        return f"{result.error_code} {result.error}".strip()
    return result.error or str(result.outcome)


def _published_detail(post: ChannelPost) -> str:
    return f"已发布：{post.post_url}" if post.post_url else ""
