"""The registry of new-media accounts (新媒体账号备案) admins keep; every act is audited and
the caller commits. Apart from `accounts.py` (which accounts an item goes to), because the
release imports that and closing an account here settles releases.

Credentials are a JSON object sealed with the data key (`common.secretbox`); they are checked
with the platform when registered or changed, and never leave the service except to the
platform.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from typing import Any

import orjson
from sqlalchemy import String, and_, cast, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.columns import as_utc
from common.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, Unprocessable
from common.events import utcnow
from common.pagination import decode_cursor, page
from common.secretbox import SecretBox
from services.distribute import audit, publishing
from services.distribute.channels.adapters import ChannelAdapters
from services.distribute.channels.contract import AccountAccess, Outcome
from services.distribute.models import ChannelAccount, ChannelPost, Delivery, Site, SiteColumn
from services.distribute.pagetags import iso
from services.distribute.schemas import (
    ChannelAccountCreate,
    ChannelAccountStatusChange,
    ChannelAccountUpdate,
    credential_problem,
    safe_domain_problem,
)

# PostgreSQL advisory lock key of the one-active-account check (portal.py's change-feed lock is
# 8103; the channels job locks accounts in the two-key space, which never meets this one):
# two registrations for one unit at once cannot both see no active account
REGISTRATION_LOCK = 8104
# the publish deliveries of an account that closing it cancels: nothing has been sent for them
CANCELLABLE = ("pending", "parked", "needs_edit")


def new_account_id() -> str:
    return f"acc_{uuid.uuid4().hex}"


def account_out(account: ChannelAccount) -> dict[str, Any]:
    """The account as the API shows it: every field but the credentials."""
    return {
        "id": account.id,
        "platform": account.platform,
        "name": account.name,
        "platform_account_id": account.platform_account_id,
        "app_id": account.app_id,
        "unit": account.unit,
        "sites": account.sites,
        "default_columns": account.default_columns,
        "credentials_set": bool(account.credentials),
        "safe_domain": account.safe_domain,
        "status": account.status,
        "status_reason": account.status_reason,
        "exception_reason": account.exception_reason,
        "filing_number": account.filing_number,
        "operator": account.operator,
        "contact": account.contact,
        "created_at": iso(account.created_at),
        "updated_at": iso(account.updated_at),
        "closed_at": iso(account.closed_at) if account.closed_at else None,
    }


def _audited(account: ChannelAccount) -> dict[str, Any]:
    """What the chain keeps of an account: everything but its credentials."""
    kept = account_out(account)
    for moment in ("created_at", "updated_at", "closed_at", "credentials_set"):
        kept.pop(moment)
    return kept


async def get_account(session: AsyncSession, account_id: str) -> ChannelAccount:
    account = await session.get(ChannelAccount, account_id)
    if account is None:
        raise NotFound(f"no new-media account {account_id}", field="id")
    return account


async def check_targets(session: AsyncSession, sites: list[str], columns: list[str]) -> None:
    """Every site exists; every default column (`<site>/<column>`) exists on a listed site."""
    for site in sites:
        if await session.get(Site, site) is None:
            raise Unprocessable(f"unknown site {site!r}", field="sites")
    for ref in columns:
        site, column = ref.split("/", 1)
        if site not in sites:
            raise Unprocessable(
                f"{ref} is not on one of the account's sites", field="default_columns"
            )
        query = select(SiteColumn).where(
            col(SiteColumn.site) == site, col(SiteColumn.slug) == column
        )
        if (await session.exec(query)).first() is None:
            raise Unprocessable(f"unknown column {ref}", field="default_columns")


async def _lock_accounts(session: AsyncSession) -> None:
    """Serialise the one-active check with concurrent registrations (PostgreSQL; SQLite
    writers are serialised anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTRATION_LOCK}
        )


async def check_one_active(
    session: AsyncSession,
    platform: str,
    unit: str,
    exception_reason: str | None,
    excluding: str | None = None,
) -> None:
    """One active account per platform per unit, unless the account records an exception."""
    if exception_reason:
        return
    query = select(ChannelAccount).where(
        col(ChannelAccount.platform) == platform,
        col(ChannelAccount.unit) == unit,
        col(ChannelAccount.status) == "active",
        col(ChannelAccount.id) != (excluding or ""),
    )
    rival = (await session.exec(query.order_by(col(ChannelAccount.id)))).first()
    if rival is not None:
        raise Conflict(
            f"{unit} already has an active {platform} account ({rival.name}, {rival.id}); "
            "a second one needs exception_reason",
            field="unit",
        )


def _access(account: ChannelAccount, credentials: dict[str, str]) -> AccountAccess:
    return AccountAccess(
        account_id=account.id,
        platform=account.platform,
        platform_account_id=account.platform_account_id,
        app_id=account.app_id,
        credentials=credentials,
        safe_domain=account.safe_domain,
    )


async def verify_credentials(adapters: ChannelAdapters, access: AccountAccess) -> None:
    """Ask the platform: refused credentials are a 422 on `credentials` with the platform's
    error; a platform that cannot answer now is a 503 (nothing is registered either way)."""
    result = await adapters.get(access.platform).verify(access)
    if result.outcome is Outcome.STEP_DONE:
        return
    said = " ".join(part for part in (result.error_code, result.error) if part) or result.outcome
    if result.outcome is Outcome.CONFIG:
        raise Unprocessable(
            f"{access.platform} refused the credentials: {said}", field="credentials"
        )
    retry = {"Retry-After": str(ceil(result.retry_after))} if result.retry_after else None
    raise ServiceUnavailable(
        f"{access.platform} could not check the credentials now: {said}",
        field="credentials",
        headers=retry,
    )


async def _save(session: AsyncSession, account: ChannelAccount) -> None:
    """Write the account; the database's one-active index (`uq_channel_account_one_active`)
    refuses an active account that a concurrent registration got in before (409 on `unit`)."""
    try:
        async with session.begin_nested():
            session.add(account)
    except IntegrityError as error:
        raise Conflict(
            f"{account.unit} already has an active {account.platform} account; "
            "a second one needs exception_reason",
            field="unit",
        ) from error


def _new_account(data: ChannelAccountCreate, box: SecretBox) -> ChannelAccount:
    now = utcnow()
    return ChannelAccount(
        id=new_account_id(),
        platform=data.platform,
        name=data.name,
        platform_account_id=data.platform_account_id,
        app_id=data.app_id or data.platform_account_id,
        unit=data.unit,
        sites=list(dict.fromkeys(data.sites)),
        default_columns=list(dict.fromkeys(data.default_columns)),
        credentials=box.seal(orjson.dumps(data.credentials).decode()),
        safe_domain=data.safe_domain,
        exception_reason=data.exception_reason or "",
        filing_number=data.filing_number,
        operator=data.operator,
        contact=data.contact,
        created_at=now,
        updated_at=now,
    )


async def create_account(
    session: AsyncSession, data: ChannelAccountCreate, box: SecretBox, actor: str
) -> ChannelAccount:
    """Write a registration whose credentials were checked (or need none: the demo seed)."""
    await check_targets(session, data.sites, data.default_columns)
    await _lock_accounts(session)
    await check_one_active(session, data.platform, data.unit, data.exception_reason)
    account = _new_account(data, box)
    await _save(session, account)
    await audit.record(session, actor, "channel_account.registered", account.id, _audited(account))
    return account


async def register_account(
    session: AsyncSession,
    data: ChannelAccountCreate,
    adapters: ChannelAdapters,
    box: SecretBox,
    actor: str,
) -> ChannelAccount:
    """Register an account (新媒体账号备案) after the platform accepted its credentials; the
    cheap checks come first, so a refused registration costs no call to the platform."""
    await check_targets(session, data.sites, data.default_columns)
    await check_one_active(session, data.platform, data.unit, data.exception_reason)
    probe = _new_account(data, box)
    await verify_credentials(adapters, _access(probe, data.credentials))
    return await create_account(session, data, box, actor)


async def list_accounts(
    session: AsyncSession, filters: AccountFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Accounts in registration order, keyset on (created_at, id)."""
    query = select(ChannelAccount)
    for name in ("platform", "unit", "status"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(ChannelAccount, name) == value)
    if filters.site is not None:
        # a JSON list of slugs (no quotes in a slug): the quoted slug is in its text
        query = query.where(cast(col(ChannelAccount.sites), String).contains(f'"{filters.site}"'))
    position = decode_cursor(cursor)
    if position is not None:
        after, last_id = _position(position)
        query = query.where(
            or_(
                col(ChannelAccount.created_at) > after,
                and_(col(ChannelAccount.created_at) == after, col(ChannelAccount.id) > last_id),
            )
        )
    query = query.order_by(col(ChannelAccount.created_at), col(ChannelAccount.id)).limit(limit + 1)
    rows = list(await session.exec(query))
    result = page(rows, limit, lambda a: [as_utc(a.created_at).isoformat(), a.id])
    result["items"] = [account_out(a) for a in result["items"]]
    return result


def _position(position: Any) -> tuple[datetime, str]:
    try:
        return as_utc(datetime.fromisoformat(position[0])), str(position[1])
    except (TypeError, ValueError, IndexError, KeyError) as error:
        raise BadRequest("invalid cursor", field="cursor") from error


async def update_account(
    session: AsyncSession,
    account_id: str,
    data: ChannelAccountUpdate,
    adapters: ChannelAdapters,
    box: SecretBox,
    actor: str,
) -> ChannelAccount:
    """Change what an admin may change; new credentials are checked with the platform first.
    A closed account is kept as it was (409)."""
    account = await get_account(session, account_id)
    if account.status == "closed":
        raise Conflict("a closed account cannot be changed", field="status")
    changes = data.model_dump(exclude_none=True)
    await _check_changes(session, account, changes)
    credentials = changes.pop("credentials", None)
    for name, value in changes.items():
        setattr(account, name, value)
    if credentials is not None:
        await verify_credentials(adapters, _access(account, credentials))
        account.credentials = box.seal(orjson.dumps(credentials).decode())
    account.updated_at = utcnow()
    session.add(account)
    await session.flush()
    changed = sorted(changes) + (["credentials"] if credentials is not None else [])
    entry = {**_audited(account), "changed": changed}
    await audit.record(session, actor, "channel_account.updated", account.id, entry)
    return account


async def _check_changes(
    session: AsyncSession, account: ChannelAccount, changes: dict[str, Any]
) -> None:
    if "sites" in changes or "default_columns" in changes:
        sites = changes.setdefault("sites", account.sites)
        columns = changes.setdefault("default_columns", account.default_columns)
        await check_targets(session, sites, columns)
    if "safe_domain" in changes:
        changes["safe_domain"] = changes["safe_domain"].lower()
        problem = safe_domain_problem(account.platform, changes["safe_domain"])
        if problem:
            raise Unprocessable(problem, field="safe_domain")
    if "credentials" in changes:
        problem = credential_problem(account.platform, changes["credentials"])
        if problem:
            raise Unprocessable(problem, field="credentials")


async def change_status(
    session: AsyncSession, account_id: str, data: ChannelAccountStatusChange, actor: str
) -> ChannelAccount:
    """Activate, suspend or close an account. Closing is final and cancels the account's
    deliveries that were not sent; activating checks the one-active rule again."""
    account = await get_account(session, account_id)
    if account.status == "closed":
        raise Conflict("a closed account cannot be reactivated or changed", field="status")
    if data.status == account.status:
        return account
    if data.status == "active":
        await _lock_accounts(session)
        await check_one_active(
            session, account.platform, account.unit, account.exception_reason, account.id
        )
    now = utcnow()
    account.status, account.status_reason, account.updated_at = data.status, data.reason, now
    cancelled: list[str] = []
    if data.status == "closed":
        account.closed_at = now
        cancelled = await cancel_open_deliveries(session, account, data.reason)
    await _save(session, account)
    entry = {**_audited(account), "cancelled_deliveries": cancelled}
    await audit.record(session, actor, f"channel_account.{data.status}", account.id, entry)
    return account


async def cancel_open_deliveries(
    session: AsyncSession, account: ChannelAccount, reason: str
) -> list[str]:
    """Cancel the account's publish deliveries that were not sent (a `delivery.updated` each)
    and settle their releases; returns the cancelled deliveries' ids. A post already sent or
    being sent is left to finish (or to be retracted)."""
    query = select(Delivery).where(
        col(Delivery.account_id) == account.id,
        col(Delivery.action) == "publish",
        col(Delivery.state).in_(CANCELLABLE),
    )
    detail = f"账号已关闭：{reason}"
    now = utcnow()
    found = list(await session.exec(query.order_by(col(Delivery.id)).with_for_update()))
    cancelled = [d for d in found if not await _may_be_live(session, d)]
    for delivery in cancelled:
        delivery.state, delivery.last_error, delivery.updated_at = "cancelled", detail, now
        delivery.next_attempt_at = delivery.lease_until = None
        session.add(delivery)
        await publishing.announce(session, delivery, detail=detail)
    await session.flush()
    for content_id, version in sorted({(d.content_id, d.version) for d in cancelled}):
        await publishing.settle_release(session, content_id, version)
    return [d.id for d in cancelled]


async def _may_be_live(session: AsyncSession, delivery: Delivery) -> bool:
    """A post whose final step was attempted may be on the platform: it stays tracked (read
    back, and retracted if it landed) rather than cancelled."""
    post = await session.get(ChannelPost, delivery.id)
    return post is not None and "attempting" in post.progress


@dataclass(frozen=True)
class AccountFilters:
    platform: str | None = None
    unit: str | None = None
    site: str | None = None
    status: str | None = None


async def reseal_credentials(session: AsyncSession, box: SecretBox) -> int:
    """Re-seal credentials sealed with a previous data key (or, written by hand, plain) with
    the current one — for the start-up, like the webhook secrets; returns how many changed.
    Credentials no known key opens stay as they are (their posts fail with the reason)."""
    accounts = await session.exec(select(ChannelAccount).with_for_update())
    changed = box.reseal_rows(accounts, field="credentials")
    session.add_all(changed)
    await session.flush()
    return len(changed)
