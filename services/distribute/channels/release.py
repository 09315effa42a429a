"""The new-media part of a release: one delivery (and its `ChannelPost`) per account.

An account's delivery starts `pending` for the job, bound to the approved rendition (the stored
variant's hash), or — nothing sent — `needs_edit` when the rendition has findings (or, on Weibo,
the link is not on the account's safe domain), or `failed` when a named account cannot take it
(unknown, closed, not serving the item's site) or the portal page it would link to was not
published. The caller adds the rows and announces them.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.distribute import accounts  # a module: accounts imports publishing, which imports us
from services.distribute.channels.variants import variants_for
from services.distribute.channels.weibo_render import link_finding
from services.distribute.models import (
    ChannelAccount,
    ChannelPost,
    ChannelVariant,
    ContentSnapshot,
    Delivery,
)

MARKER_BYTES = 6  # 12 hex characters: what the Weibo rendition reserves room for
NO_PAGE = "门户页面未发布，新媒体稿件无处链接"


@dataclass(frozen=True)
class ChannelRelease:
    deliveries: list[Delivery]
    posts: list[ChannelPost]


def new_marker() -> str:
    """Our short mark in a post's link, found again when reading the account back."""
    return secrets.token_hex(MARKER_BYTES)


def channel_delivery(
    key: tuple[str, int, str],
    target: str,
    channel: str,
    state: str,
    now: datetime,
    *,
    account_id: str | None,
    error: str = "",
    action: str = "publish",
) -> Delivery:
    content_id, version, content_hash = key
    return Delivery(
        id=f"msg_{uuid.uuid4().hex}",
        content_id=content_id,
        version=version,
        content_hash=content_hash,
        action=action,
        target=target,
        channel=channel,
        account_id=account_id,
        state=state,
        last_error=error[:2000],
        next_attempt_at=now if state == "pending" else None,
        created_at=now,
        updated_at=now,
    )


def named_refusal(account: ChannelAccount | None, snapshot: ContentSnapshot) -> str | None:
    """Why a named account cannot take the item, or None (a suspended account can: its post
    waits until the account is active again)."""
    if account is None:
        return "新媒体账号不存在"
    if account.status == "closed":
        return f"新媒体账号“{account.name}”已注销"
    if snapshot.site not in account.sites:
        return f"新媒体账号“{account.name}”不服务站点 {snapshot.site}"
    return None


async def targets_of(
    session: AsyncSession, snapshot: ContentSnapshot
) -> tuple[list[ChannelAccount], dict[str, str]]:
    """The accounts the item goes to (active ones named or by default column, and named
    suspended ones), and the named accounts it cannot go to, with the reason."""
    chosen = await accounts.accounts_for(session, snapshot)
    known = {a.id for a in chosen}
    refused: dict[str, str] = {}
    for account_id in dict.fromkeys(snapshot.accounts):
        if account_id in known:
            continue
        account = await session.get(ChannelAccount, account_id)
        reason = named_refusal(account, snapshot)
        if reason is not None:
            refused[account_id] = reason
        elif account is not None:
            chosen.append(account)
    return chosen, refused


def refused_delivery(
    key: tuple[str, int, str],
    account: ChannelAccount | None,
    account_id: str,
    reason: str,
    now: datetime,
) -> Delivery:
    if account is None:
        return channel_delivery(
            key, f"account:{account_id}", "account", "failed", now, account_id=None, error=reason
        )
    target = accounts.account_target(account)
    return channel_delivery(
        key, target, account.platform, "failed", now, account_id=account.id, error=reason
    )


def edit_reasons(account: ChannelAccount, variant: ChannelVariant) -> list[str]:
    """What keeps the rendition off this account: its findings, and on Weibo a link outside
    the account's registered safe domain."""
    reasons = [f["reason"] for f in variant.findings]
    if account.platform == "weibo":
        finding = link_finding(account.safe_domain, str(variant.body.get("link", "")))
        if finding is not None:
            reasons.append(finding.reason)
    return reasons


async def release_to_channels(
    session: AsyncSession,
    snapshot: ContentSnapshot,
    key: tuple[str, int, str],
    now: datetime,
    *,
    page_published: bool,
) -> ChannelRelease:
    """The deliveries and posts of one approved version to its accounts (not yet added)."""
    chosen, refused = await targets_of(session, snapshot)
    deliveries: list[Delivery] = []
    for account_id, reason in refused.items():
        account = await session.get(ChannelAccount, account_id)
        deliveries.append(refused_delivery(key, account, account_id, reason, now))
    variants = await variants_for(session, snapshot) if chosen else {}
    posts: list[ChannelPost] = []
    for account in chosen:
        variant = variants[account.platform]
        reasons = edit_reasons(account, variant)
        state = "needs_edit" if reasons else ("pending" if page_published else "failed")
        error = "；".join(reasons) if reasons else ("" if page_published else NO_PAGE)
        target = accounts.account_target(account)
        delivery = channel_delivery(
            key, target, account.platform, state, now, account_id=account.id, error=error
        )
        deliveries.append(delivery)
        posts.append(
            ChannelPost(
                delivery_id=delivery.id,
                account_id=account.id,
                platform=account.platform,
                variant_hash=variant.variant_hash,
                marker=new_marker(),
                updated_at=now,
            )
        )
    return ChannelRelease(deliveries, posts)


async def failed_everywhere(
    session: AsyncSession,
    snapshot: ContentSnapshot,
    key: tuple[str, int, str],
    reason: str,
    now: datetime,
) -> list[Delivery]:
    """A failed delivery to every account the item would have gone to (a release refused
    before anything was sent: hash mismatch, retracted, superseded)."""
    chosen, refused = await targets_of(session, snapshot)
    failed = [refused_delivery(key, a, a.id, reason, now) for a in chosen]
    for account_id, refusal in refused.items():
        account = await session.get(ChannelAccount, account_id)
        failed.append(refused_delivery(key, account, account_id, f"{reason}; {refusal}", now))
    return failed
