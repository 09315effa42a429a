"""Posting limits, enforced before the platforms enforce them, and the plan they make.

Every limit is a fixed window (a minute, an hour, a Beijing day) of one scope: an account
(`account:<id>`) or the platform app several accounts share (`app:<platform>:<app id>`).
`ChannelQuota` holds, per (scope, window), the window's start and the posts counted in it, and
in the row `window="limit"` a pause the platform imposed (`Retry-After`, 45009, 10022…).

A post waits until every window of its scopes has room and no pause holds: `blocked_until`
answers when that is, `take` counts a post that goes. The planner (`plan`) runs the same rules
forward over the open deliveries in created order, so what it shows is what the job will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from services.distribute.channels.contract import PLATFORMS
from services.distribute.models import (
    ChannelAccount,
    ChannelPost,
    ChannelQuota,
    ContentSnapshot,
    Delivery,
)
from services.distribute.pagetags import SHANGHAI, iso
from services.distribute.settings import DistributeSettings

PAUSE = "limit"  # the ChannelQuota window of a platform-imposed pause
WINDOW_NAMES = {"minute": "每分钟", "hour": "每小时", "day": "每日"}
# publish deliveries the planner places (sending/confirming/unknown are already counted)
PLANNED_STATES = ("pending", "parked")


@dataclass(frozen=True)
class Limit:
    scope: str
    window: str  # minute | hour | day
    most: int


@dataclass(frozen=True)
class PlannedPost:
    """One open post and when it is planned to go: `reason` says why it waits (empty when it
    goes as soon as the job reaches it)."""

    account_id: str
    delivery_id: str
    content_id: str
    version: int
    title: str
    state: str
    planned_at: datetime
    reason: str


def account_scope(account: ChannelAccount) -> str:
    return f"account:{account.id}"


def app_scope(account: ChannelAccount) -> str:
    return f"app:{account.platform}:{account.app_id}"


def limits_for(account: ChannelAccount, settings: DistributeSettings) -> list[Limit]:
    """Weibo: posts per hour per account, posts per day per app; WeChat: posts per minute and
    per day per account (a WeChat account is its own app)."""
    own = account_scope(account)
    if account.platform == "weibo":
        return [
            Limit(own, "hour", settings.weibo_posts_per_hour),
            Limit(app_scope(account), "day", settings.weibo_app_posts_per_day),
        ]
    return [
        Limit(own, "minute", settings.wechat_posts_per_minute),
        Limit(own, "day", settings.wechat_posts_per_day),
    ]


def pause_scopes(account: ChannelAccount) -> list[str]:
    """The scopes whose platform-imposed pause holds this account's posts."""
    return [account_scope(account), app_scope(account)]


def window_start(window: str, moment: datetime) -> datetime:
    """The start of the fixed window holding `moment` (a day is a Beijing calendar day, when
    the platforms' daily quotas reset)."""
    moment = as_utc(moment)
    if window == "minute":
        return moment.replace(second=0, microsecond=0)
    if window == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    local = moment.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return as_utc(local)


def window_end(window: str, start: datetime) -> datetime:
    length = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1)}
    return as_utc(start) + length.get(window, timedelta(days=1))


@dataclass
class Usage:
    """Posts counted per (scope, window, window start), and pauses per scope: the state both
    the job's admission and the planner's simulation read and advance (a simulation that fills
    tomorrow's window still knows today's)."""

    counts: dict[tuple[str, str, datetime], int]
    pauses: dict[str, datetime]

    def used(self, limit: Limit, at: datetime) -> int:
        return self.counts.get((limit.scope, limit.window, window_start(limit.window, at)), 0)

    def count(self, limits: Iterable[Limit], at: datetime) -> None:
        for limit in limits:
            key = (limit.scope, limit.window, window_start(limit.window, at))
            self.counts[key] = self.counts.get(key, 0) + 1

    def earliest(
        self, limits: list[Limit], scopes: list[str], at: datetime
    ) -> tuple[datetime, str]:
        """The first moment from `at` when a post fits every limit and no pause holds, and why
        it waits that long ("" when it need not)."""
        moment, reason = as_utc(at), ""
        for _ in range(10_000):  # windows only move forward; the bound guards a bad setting
            pause = max((self.pauses[s] for s in scopes if s in self.pauses), default=None)
            if pause is not None and pause > moment:
                moment, reason = pause, f"平台限流，暂停至 {iso(pause)}"
                continue
            full = next((lim for lim in limits if self.used(lim, moment) >= lim.most), None)
            if full is None:
                return moment, reason
            moment = window_end(full.window, window_start(full.window, moment))
            reason = f"{WINDOW_NAMES[full.window]}发布配额已满（{full.most} 条），{iso(moment)} 起"
        return moment, reason


async def load_usage(session: AsyncSession, scopes: Iterable[str] | None = None) -> Usage:
    query = select(ChannelQuota)
    if scopes is not None:
        query = query.where(col(ChannelQuota.scope).in_(set(scopes)))
    usage = Usage({}, {})
    for row in await session.exec(query):
        if row.window == PAUSE:
            if row.limit_until is not None:
                usage.pauses[row.scope] = as_utc(row.limit_until)
        else:
            usage.counts[(row.scope, row.window, as_utc(row.window_start))] = row.used
    return usage


async def blocked_until(
    session: AsyncSession, account: ChannelAccount, settings: DistributeSettings, now: datetime
) -> tuple[datetime, str] | None:
    """When a post of `account` may go and why it waits, or None if it may go now."""
    usage = await load_usage(session, pause_scopes(account))
    moment, reason = usage.earliest(limits_for(account, settings), pause_scopes(account), now)
    return None if moment <= as_utc(now) else (moment, reason)


async def paused_until(
    session: AsyncSession, account: ChannelAccount, now: datetime
) -> datetime | None:
    """The end of a platform-imposed pause holding `account`'s posts, or None."""
    usage = await load_usage(session, pause_scopes(account))
    pauses = [usage.pauses[s] for s in pause_scopes(account) if s in usage.pauses]
    latest = max(pauses, default=None)
    return latest if latest is not None and latest > as_utc(now) else None


async def take(
    session: AsyncSession, account: ChannelAccount, settings: DistributeSettings, now: datetime
) -> None:
    """Count one post of `account` in every window of its limits (rows locked on PostgreSQL,
    so two workers cannot both take the last slot unseen)."""
    for limit in limits_for(account, settings):
        row = await _row(session, limit.scope, limit.window, now)
        start = window_start(limit.window, now)
        if as_utc(row.window_start) != start:
            row.window_start, row.used = start, 0
        row.used += 1
        session.add(row)


async def limit_until(
    session: AsyncSession, scopes: Iterable[str], until: datetime, now: datetime
) -> None:
    """Record a platform-imposed pause of `scopes` until `until` (a later pause wins)."""
    for scope in scopes:
        row = await _row(session, scope, PAUSE, now)
        current = as_utc(row.limit_until) if row.limit_until else None
        if current is None or current < as_utc(until):
            row.limit_until = until
        session.add(row)


def default_pause(account: ChannelAccount, now: datetime) -> datetime:
    """A quota error without a Retry-After: Weibo's limits reset on the hour, WeChat's daily
    quotas at Beijing midnight."""
    window = "hour" if account.platform == "weibo" else "day"
    return window_end(window, window_start(window, now))


async def _row(session: AsyncSession, scope: str, window: str, now: datetime) -> ChannelQuota:
    query = select(ChannelQuota).where(
        col(ChannelQuota.scope) == scope, col(ChannelQuota.window) == window
    )
    row = (await session.exec(query.with_for_update())).one_or_none()
    if row is None:
        row = ChannelQuota(scope=scope, window=window, window_start=window_start("day", now))
        if window != PAUSE:
            row.window_start = window_start(window, now)
        session.add(row)
        await session.flush()
    return row


async def plan(
    session: AsyncSession,
    now: datetime,
    settings: DistributeSettings,
    account_id: str | None = None,
    sites: list[str] | None = None,
) -> list[PlannedPost]:
    """What will go when: the open publish posts (pending, parked) of every account in created
    order, each placed at the first moment its limits and pauses allow after the ones before it.
    Accounts sharing an app share its windows, so one account's posts push another's.
    `account_id` and `sites` (None = every site) only filter what is shown."""
    accounts = {a.id: a for a in await session.exec(select(ChannelAccount))}
    query = (
        select(Delivery)
        .where(
            col(Delivery.channel).in_(PLATFORMS),
            col(Delivery.action) == "publish",
            col(Delivery.state).in_(PLANNED_STATES),
        )
        .order_by(col(Delivery.created_at), col(Delivery.id))
    )
    open_posts = [d for d in await session.exec(query) if d.account_id in accounts]
    titles = await _titles(session, open_posts)
    counted = await _counted(session, open_posts)
    usage = await load_usage(session)
    planned: list[PlannedPost] = []
    for delivery in open_posts:
        account = accounts[delivery.account_id or ""]
        # a post counted when it first went (now retrying, or parked) holds its slot already
        limits = [] if delivery.id in counted else limits_for(account, settings)
        moment, reason = usage.earliest(limits, pause_scopes(account), now)
        due = as_utc(delivery.next_attempt_at or now)
        if due > moment:  # waits longer than its limits say: a backoff, or a parked post
            moment, reason = usage.earliest(limits, pause_scopes(account), due)
            reason = reason or _waiting_reason(delivery, due)
        usage.count(limits, moment)
        visible = sites is None or bool(set(sites) & set(account.sites))
        if account_id in (None, account.id) and visible:
            planned.append(_planned(delivery, account, titles, moment, reason))
    return planned


def _waiting_reason(delivery: Delivery, due: datetime) -> str:
    if delivery.state == "parked":
        return f"平台配额已用完，{iso(due)} 后再发：{delivery.last_error}"[:500]
    return f"重试等待至 {iso(due)}：{delivery.last_error}"[:500]


def _planned(
    delivery: Delivery,
    account: ChannelAccount,
    titles: Mapping[tuple[str, int], str],
    moment: datetime,
    reason: str,
) -> PlannedPost:
    return PlannedPost(
        account_id=account.id,
        delivery_id=delivery.id,
        content_id=delivery.content_id,
        version=delivery.version,
        title=titles.get((delivery.content_id, delivery.version), ""),
        state=delivery.state,
        planned_at=moment,
        reason=reason,
    )


async def _counted(session: AsyncSession, deliveries: list[Delivery]) -> set[str]:
    """The posts among `deliveries` already counted in their windows."""
    ids = [d.id for d in deliveries]
    if not ids:
        return set()
    query = select(ChannelPost).where(col(ChannelPost.delivery_id).in_(ids))
    return {p.delivery_id for p in await session.exec(query) if p.progress.get("counted")}


async def _titles(session: AsyncSession, deliveries: list[Delivery]) -> dict[tuple[str, int], str]:
    ids = {d.content_id for d in deliveries}
    if not ids:
        return {}
    query = select(
        col(ContentSnapshot.content_id), col(ContentSnapshot.version), col(ContentSnapshot.title)
    ).where(col(ContentSnapshot.content_id).in_(ids))
    return {(r.content_id, r.version): r.title for r in await session.execute(query)}
