"""Logins that hold under attack: failure throttles, lockout, password expiry and change.

Rules (settings in `GatewaySettings`):
- Every login name — existing or not, so a lockout tells nothing about which names exist — is
  locked for `login_lockout_minutes` (15) after `login_max_failures` (5) consecutive failures;
  the lockout is recorded in the audit chain (`login.locked`). A success resets the count.
- Every client address (`common.client_address`) is refused for the rest of its window after
  `login_address_max_failures` (20) failures within `login_address_window_minutes` (15), so one
  address cannot spray passwords over many names.
- A refused attempt (locked name or address) answers 429 with `Retry-After` and checks no
  password; a wrong password, an unknown name and a disabled account all answer the same 401,
  and cost the same (an unknown name is checked against a dummy hash).
- The counts live in the gateway database (`login_throttle`), so every gateway process shares
  them; the rows are locked while an attempt is decided, so concurrent guesses are all counted.
- A password older than `password_max_age_days` (90) still proves who the caller is, but gets
  no token: 403 `password_expired`; `change_password` (username, current and new password)
  is the way out, under the same throttles. A new password meets `password_problems` and is
  none of the last `password_history` (5) passwords.

Nothing here commits: the request does, also when the answer is a refusal (the counts must
stay), which is why refusals are returned rather than raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Forbidden, ProblemError, TooManyRequests, Unauthorized, Unprocessable
from common.events import utcnow
from gateway import service
from gateway.audit import CHAIN
from gateway.models import LoginThrottle, PasswordHistory, StaffUser
from gateway.schemas import TokenOut
from gateway.service import PasswordPolicy
from gateway.settings import GatewaySettings

GATEWAY_ACTOR = "gateway"
KEY_MAX = 200


class PasswordExpired(Forbidden):
    code, title = "password_expired", "Password expired"


@dataclass(frozen=True)
class LoginRules:
    max_failures: int
    lockout: timedelta
    address_max_failures: int
    address_window: timedelta
    policy: PasswordPolicy

    @classmethod
    def of(cls, settings: GatewaySettings) -> LoginRules:
        return cls(
            max_failures=settings.login_max_failures,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
            address_max_failures=settings.login_address_max_failures,
            address_window=timedelta(minutes=settings.login_address_window_minutes),
            policy=policy_of(settings),
        )


def policy_of(settings: GatewaySettings) -> PasswordPolicy:
    return PasswordPolicy(
        min_length=settings.password_min_length,
        min_classes=settings.password_min_classes,
        history=settings.password_history,
        max_age_days=settings.password_max_age_days,
    )


def _account_key(username: str) -> str:
    return f"account:{username}"[:KEY_MAX]


def _address_key(address: str) -> str:
    return f"address:{address}"[:KEY_MAX]


async def _locked_row(session: AsyncSession, key: str) -> LoginThrottle | None:
    statement = (
        select(LoginThrottle)
        .where(col(LoginThrottle.key) == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()


async def _row_for_update(session: AsyncSession, key: str, now: datetime) -> LoginThrottle:
    """The throttle row of `key`, created when missing (a concurrent creator is fine)."""
    row = await _locked_row(session, key)
    if row is not None:
        return row
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = await _locked_row(session, key)
    assert row is not None
    return row


@overload
def _aware(moment: datetime) -> datetime: ...
@overload
def _aware(moment: datetime | None) -> datetime | None: ...
def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _retry_after(until: datetime, now: datetime) -> str:
    return str(max(1, int((until - now).total_seconds() + 0.999)))


def _throttled(until: datetime, now: datetime) -> TooManyRequests:
    # The same words for a locked name and a throttled address: neither says which it was.
    return TooManyRequests(
        "too many failed logins; try again later",
        headers={"Retry-After": _retry_after(until, now)},
    )


async def _refusal_before_checking(
    session: AsyncSession, username: str, address: str, rules: LoginRules, now: datetime
) -> TooManyRequests | None:
    account = await _locked_row(session, _account_key(username))
    locked_until = _aware(account.locked_until) if account else None
    if locked_until is not None and locked_until > now:
        return _throttled(locked_until, now)
    by_address = await _locked_row(session, _address_key(address))
    if by_address is not None:
        window_end = _aware(by_address.window_started_at) + rules.address_window
        if window_end > now and by_address.failures >= rules.address_max_failures:
            return _throttled(window_end, now)
    return None


async def _record_failure(
    session: AsyncSession, username: str, address: str, rules: LoginRules, now: datetime
) -> None:
    account = await _row_for_update(session, _account_key(username), now)
    # For a name, the window starts at its latest failure: failures separated by less than the
    # lockout period count as consecutive.
    account.window_started_at = now
    account.failures += 1
    if account.failures >= rules.max_failures:
        account.locked_until = now + rules.lockout
        await CHAIN.append(
            session,
            GATEWAY_ACTOR,
            "login.locked",
            f"user:{username}"[:100],
            {
                "failures": account.failures,
                "locked_until": account.locked_until.isoformat(),
                "address": address,
            },
        )
        account.failures = 0
    session.add(account)
    by_address = await _row_for_update(session, _address_key(address), now)
    if _aware(by_address.window_started_at) + rules.address_window <= now:
        by_address.failures, by_address.window_started_at = 0, now
    by_address.failures += 1
    session.add(by_address)
    await _forget_old_rows(session, rules, now)


async def _forget_old_rows(session: AsyncSession, rules: LoginRules, now: datetime) -> None:
    """Rows whose window and lockout are both over count nothing any more.

    Rows another attempt holds are skipped (PostgreSQL), so the clean-up never waits for one.
    """
    horizon = now - max(rules.address_window, rules.lockout)
    old = (
        select(LoginThrottle.key)
        .where(col(LoginThrottle.window_started_at) < horizon)
        .where(col(LoginThrottle.locked_until).is_(None) | (col(LoginThrottle.locked_until) < now))
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key).in_(old)))


async def _verified_user(
    session: AsyncSession,
    username: str,
    password: str,
    address: str,
    rules: LoginRules,
    now: datetime,
) -> StaffUser | ProblemError:
    refusal = await _refusal_before_checking(session, username, address, rules, now)
    if refusal is not None:
        return refusal
    try:
        user = await service.authenticate_password(session, username, password)
    except Unauthorized as wrong:
        await _record_failure(session, username, address, rules, now)
        return wrong
    account = await _locked_row(session, _account_key(username))
    if account is not None:
        await session.delete(account)  # consecutive failures end with a success
    return user


def password_expired(user: StaffUser, policy: PasswordPolicy, now: datetime) -> bool:
    if policy.max_age_days <= 0:
        return False
    changed = _aware(user.password_changed_at or user.created_at)
    return changed is not None and now - changed > timedelta(days=policy.max_age_days)


async def attempt_login(
    session: AsyncSession,
    username: str,
    password: str,
    address: str,
    rules: LoginRules,
    now: datetime | None = None,
) -> StaffUser | ProblemError:
    """The user these credentials open, or the refusal to answer (429, 401 or 403)."""
    now = now or utcnow()
    outcome = await _verified_user(session, username, password, address, rules, now)
    if isinstance(outcome, StaffUser) and password_expired(outcome, rules.policy, now):
        return PasswordExpired(
            "password expired; set a new one with POST /api/v1/auth/password", field="password"
        )
    return outcome


async def _reused(session: AsyncSession, user: StaffUser, password: str, history: int) -> bool:
    """Whether `password` is the current one or one of the `history - 1` before it."""
    earlier = await session.exec(
        select(PasswordHistory.password_hash)
        .where(col(PasswordHistory.user_id) == user.id)
        .order_by(col(PasswordHistory.id).desc())
        .limit(max(history - 1, 0))
    )
    return any(service.check_password(password, h)[0] for h in [user.password_hash, *earlier])


async def change_password(
    session: AsyncSession,
    username: str,
    current: str,
    new: str,
    address: str,
    rules: LoginRules,
    now: datetime | None = None,
) -> StaffUser | ProblemError:
    """Set a new password for whoever proves the current one (also when it has expired)."""
    now = now or utcnow()
    outcome = await _verified_user(session, username, current, address, rules, now)
    if not isinstance(outcome, StaffUser):
        return outcome
    user = outcome
    problems = service.password_problems(new, rules.policy)
    if problems:
        return Unprocessable(f"password too weak: {'; '.join(problems)}", field="new_password")
    if await _reused(session, user, new, rules.policy.history):
        return Unprocessable(
            f"password is one of the last {rules.policy.history} of this account",
            field="new_password",
        )
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, replaced_at=now))
    stale = (
        select(PasswordHistory.id)
        .where(col(PasswordHistory.user_id) == user.id)
        .order_by(col(PasswordHistory.id).desc())
        .offset(max(rules.policy.history - 1, 1))
    )
    await session.flush()
    await session.execute(delete(PasswordHistory).where(col(PasswordHistory.id).in_(stale)))
    user.password_hash = service.hash_password(new)
    user.password_changed_at = now
    session.add(user)
    await CHAIN.append(session, user.id, "user.password_changed", f"user:{user.id}", {})
    return user


async def token_for(
    session: AsyncSession,
    username: str,
    password: str,
    address: str,
    rules: LoginRules,
    settings: GatewaySettings,
) -> TokenOut | ProblemError:
    """A bearer token for these credentials, or the refusal to answer (`attempt_login`)."""
    outcome = await attempt_login(session, username, password, address, rules)
    if isinstance(outcome, ProblemError):
        return outcome
    token = service.issue_token(outcome, settings.token_secret, settings.token_ttl_seconds)
    return TokenOut(access_token=token, expires_in=settings.token_ttl_seconds, roles=outcome.roles)
