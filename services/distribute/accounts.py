"""New-media accounts (新媒体账号备案): which accounts an item goes to, and opening their
credentials for an adapter."""

from __future__ import annotations

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.secretbox import SecretBox
from services.distribute.channels.contract import AccountAccess
from services.distribute.models import ChannelAccount, ContentSnapshot


def account_target(account: ChannelAccount) -> str:
    """The delivery target of a post to an account: `wechat:<id>` / `weibo:<id>`."""
    return f"{account.platform}:{account.id}"


async def accounts_for(session: AsyncSession, snapshot: ContentSnapshot) -> list[ChannelAccount]:
    """The active accounts an approved version goes to: those the submission named, and those
    whose default columns include one of the item's columns; each once, ordered by id.

    A named account that serves another site, or is not active, is not a target (the
    submission was checked when it was made; an account closed since stops its deliveries).
    """
    listed = {f"{snapshot.site}/{column}" for column in snapshot.columns}
    query = select(ChannelAccount).where(col(ChannelAccount.status) == "active")
    chosen: list[ChannelAccount] = []
    for account in await session.exec(query.order_by(col(ChannelAccount.id))):
        named = account.id in snapshot.accounts and snapshot.site in account.sites
        if named or listed.intersection(account.default_columns):
            chosen.append(account)
    return chosen


def account_access(account: ChannelAccount, box: SecretBox) -> AccountAccess:
    """The adapter's view of an account, credentials opened (raises ValueError when the data
    key cannot open them)."""
    credentials = orjson.loads(box.open(account.credentials))
    return AccountAccess(
        account_id=account.id,
        platform=account.platform,
        platform_account_id=account.platform_account_id,
        app_id=account.app_id,
        credentials={str(k): str(v) for k, v in credentials.items()},
        safe_domain=account.safe_domain,
    )
