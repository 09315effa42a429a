"""WeChat's PUBLISHJOBFINISH notices: a publish job ended, so read it back now.

The notice only wakes the read-back (`freepublish/get` by the job); what it says about the
outcome is never taken as the outcome, so a forged or replayed notice can at most cause one
early read. It must still carry a valid signature: `sha1` of the account's callback token, the
timestamp and the nonce, sorted and joined (the platform's message-push rule).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped]
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Forbidden, NotFound, Unprocessable
from common.events import utcnow
from common.secretbox import SecretBox
from services.distribute.accounts import account_access
from services.distribute.models import ChannelAccount, ChannelPost, Delivery

MAX_AGE_SECONDS = 300  # a notice signed longer ago than this is refused (a replay)
EVENT = "PUBLISHJOBFINISH"
# no entities, no network, no huge trees: the body comes from outside
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Notice:
    to_user: str  # the account's original id / appid
    event: str
    publish_id: str


def parse_notice(body: bytes) -> Notice:
    """The fields of a message-push XML body; a body that is not one is a 422 on `body`."""
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as error:
        raise Unprocessable(f"not XML: {error}", field="body") from None
    if root is None or root.tag != "xml":
        raise Unprocessable("not a message-push document (<xml> expected)", field="body")
    if root.getroottree().docinfo.doctype:  # the platform never sends one; entities are a trap
        raise Unprocessable("a DOCTYPE is not accepted", field="body")
    return Notice(
        to_user=(root.findtext("ToUserName") or "").strip(),
        event=(root.findtext("Event") or "").strip(),
        publish_id=(root.findtext("PublishEventInfo/publish_id") or "").strip(),
    )


def signature_of(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


async def callback_token(session: AsyncSession, box: SecretBox, to_user: str) -> str:
    """The callback token of the WeChat account a notice is addressed to; 404 if no account
    has that id, 403 if it has no callback configured."""
    query = select(ChannelAccount).where(
        col(ChannelAccount.platform) == "wechat",
        col(ChannelAccount.platform_account_id) == to_user,
        col(ChannelAccount.status) != "closed",
    )
    account = (await session.exec(query)).first()
    if account is None:
        raise NotFound(f"no WeChat account {to_user!r}", field="ToUserName")
    token = account_access(account, box).credentials.get("callback_token", "")
    if not token:
        raise Forbidden("this account has no callback token configured", field="signature")
    return token


def require_signature(signature: str, timestamp: str, nonce: str) -> None:
    """403 before anything is looked up when the push carries no signature at all."""
    if not (signature and timestamp and nonce):
        raise Forbidden("signature, timestamp and nonce are required", field="signature")


def check_signature(token: str, signature: str, timestamp: str, nonce: str, now: float) -> None:
    """403 unless `signature` signs (timestamp, nonce) with `token` within MAX_AGE_SECONDS."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise Forbidden("timestamp missing or too far from now", field="timestamp")
    if not hmac.compare_digest(signature_of(token, timestamp, nonce), signature):
        raise Forbidden("signature does not match", field="signature")


async def wake_read_back(session: AsyncSession, to_user: str, publish_id: str) -> int:
    """Make the read-back of the post with this `publish_id` due now; returns how many posts
    (0 or 1) were woken. Only posts still being confirmed are touched."""
    if not publish_id:
        return 0
    query = (
        select(Delivery, ChannelPost)
        .join(ChannelPost, col(ChannelPost.delivery_id) == col(Delivery.id))
        .join(ChannelAccount, col(ChannelAccount.id) == col(ChannelPost.account_id))
        .where(
            col(ChannelAccount.platform_account_id) == to_user,
            col(Delivery.channel) == "wechat",
            col(Delivery.state) == "confirming",
        )
    )
    woken = 0
    for delivery, post in await session.exec(query):
        if str(post.progress.get("publish_id", "")) == publish_id:
            delivery.next_attempt_at = utcnow()
            session.add(delivery)
            woken += 1
    return woken
