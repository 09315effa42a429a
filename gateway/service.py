"""Staff accounts, bearer tokens and API keys — who a caller is, never what they may do there."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import jwt
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from common.events import utcnow
from common.identity import Actor
from gateway.audit import CHAIN
from gateway.models import ApiKey, StaffUser
from gateway.schemas import ApiKeyCreate, StaffUserCreate

API_KEY_PREFIX = "ck_"
TOKEN_ALGORITHM = "HS256"
# What a machine key may do in the content services, expressed as the roles they check. The
# cases scopes grant no role: they must not open the library (integrator/reader are content
# roles); interaction checks the scope itself (Open311 filing needs `cases:submit`).
SCOPE_ROLES = {
    "content:submit": "integrator",
    "content:read": "reader",
}
DEMO_USERS = (
    ("admin", "系统管理员", ["admin"], None),
    ("editor", "编辑", ["editor"], None),
    ("reviewer1", "初审员", ["reviewer"], None),
    ("reviewer2", "复审员", ["reviewer", "confidentiality"], None),
    ("reviewer3", "终审员", ["reviewer", "override"], None),
    ("office", "互动办公室", ["office"], None),
    ("handler", "承办部门", ["handler"], "市政府办公室"),
)


BCRYPT_MAX_BYTES = 72


class LegacyBcryptHasher(BcryptHasher):
    """Verifies the bcrypt hashes written before argon2; never used for new hashes.

    bcrypt only ever read the first 72 bytes (older releases cut silently, newer ones refuse
    longer input), so a longer password is checked the way its hash was made instead of failing.
    """

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        raw = password.encode() if isinstance(password, str) else password
        return super().verify(raw[:BCRYPT_MAX_BYTES], hash)


# New hashes are argon2id; bcrypt hashes still verify and are replaced at the next login.
PASSWORDS = PasswordHash((Argon2Hasher(), LegacyBcryptHasher()))


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def check_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash to store when the old one is outdated."""
    try:
        return PASSWORDS.verify_and_update(password, password_hash)
    except UnknownHashError:
        return False, None


@cache
def _unknown_user_hash() -> str:
    """A hash to check for names that do not exist, so they cost as much as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def actor_of_user(user: StaffUser) -> Actor:
    return Actor(
        id=user.id,
        name=user.display_name,
        roles=user.roles,
        sites=user.sites,
        department=user.department,
    )


def actor_of_key(key: ApiKey) -> Actor:
    roles = sorted({SCOPE_ROLES[s] for s in key.scopes if s in SCOPE_ROLES})
    return Actor(
        id=f"key:{key.id}",
        name=key.name,
        kind="api_key",
        roles=roles,
        scopes=key.scopes,
        sites=[key.site] if key.site else None,
    )


async def authenticate_password(session: AsyncSession, username: str, password: str) -> StaffUser:
    """The active user with this password; an outdated hash is replaced in the session."""
    user = await session.get(StaffUser, username)
    # Check a hash even for unknown users so timing does not reveal which names exist.
    valid, new_hash = check_password(password, user.password_hash if user else _unknown_user_hash())
    if not valid or user is None or not user.active:
        raise Unauthorized("wrong username or password", field="password")
    if new_hash is not None:
        user.password_hash = new_hash
        session.add(user)
    return user


def issue_token(user: StaffUser, secret: str, ttl_seconds: int) -> str:
    now = utcnow()
    claims = {
        "sub": user.id,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "typ": "staff",
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


async def user_from_token(session: AsyncSession, token: str, secret: str) -> StaffUser:
    try:
        claims = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM])
    except jwt.PyJWTError as error:
        raise Unauthorized(f"invalid token: {error}", field="authorization") from error
    user = await session.get(StaffUser, claims.get("sub", ""))
    if user is None or not user.active:
        raise Unauthorized("token of an unknown or disabled user", field="authorization")
    return user


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- what an admin may grant and manage -------------------------------------------------
#
# Nobody grants what they do not hold. A global admin (no site scope) may create any account or
# key. A site-scoped admin may create accounts of any role, admins included, but only with a
# non-empty site scope inside its own sites (no sites = every site, which it does not hold), and
# keys of any scope (they map to the machine roles integrator/reader, below any admin) only for
# one of its sites. It lists only the accounts and keys it could have created, and revoking a key
# outside its sites answers 404 like an unknown key, so other sites' keys are not revealed.


def within_scope(admin: Actor, sites: list[str] | None) -> bool:
    """Whether an account or key scoped to `sites` (None = every site) is inside `admin`'s."""
    if admin.sites is None:
        return True
    return bool(sites) and set(sites or ()) <= set(admin.sites)


def check_grant(admin: Actor, sites: list[str] | None, field: str) -> None:
    """Refuse granting sites the acting admin does not hold (403 naming `field`).

    Roles need no check of their own: only admins create accounts and keys, an admin holds every
    role's powers within its sites, and the site scope bounds where the granted roles apply.
    """
    if not admin.has_role("admin"):
        raise Forbidden("requires role admin")
    if admin.sites is None:
        return
    if not sites:
        raise Forbidden(
            f"a site-scoped admin must name sites within {', '.join(admin.sites)}; "
            "no sites would mean every site",
            field=field,
        )
    outside = sorted(set(sites) - set(admin.sites))
    if outside:
        raise Forbidden(f"not allowed to grant sites {', '.join(outside)}", field=field)


async def list_users(session: AsyncSession, admin: Actor) -> list[StaffUser]:
    """The accounts the admin manages: every one for a global admin, else those in its sites."""
    users = await session.exec(select(StaffUser).order_by(col(StaffUser.id)))
    return [u for u in users if within_scope(admin, u.sites)]


async def list_api_keys(session: AsyncSession, admin: Actor) -> list[ApiKey]:
    """The keys the admin manages: every one for a global admin, else those of its sites."""
    keys = await session.exec(select(ApiKey).order_by(col(ApiKey.created_at)))
    return [k for k in keys if within_scope(admin, [k.site] if k.site else None)]


async def create_api_key(
    session: AsyncSession, request: ApiKeyCreate, creator: Actor
) -> tuple[ApiKey, str]:
    """A new key; the plain secret is returned once and only its hash is stored."""
    check_grant(creator, [request.site] if request.site else None, "site")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        name=request.name,
        secret_hash=_secret_hash(secret),
        scopes=list(request.scopes),
        site=request.site,
        created_by=creator.id,
        created_at=utcnow(),
    )
    session.add(key)
    await CHAIN.append(
        session,
        creator.id,
        "api_key.created",
        f"api_key:{key_id}",
        {"name": key.name, "scopes": key.scopes, "site": key.site},
    )
    return key, f"{API_KEY_PREFIX}{key_id}_{secret}"


async def api_key_from_secret(session: AsyncSession, presented: str) -> ApiKey:
    if not presented.startswith(API_KEY_PREFIX) or presented.count("_") < 2:
        raise Unauthorized("malformed API key", field="authorization")
    key_id, secret = presented[len(API_KEY_PREFIX) :].split("_", 1)
    key = await session.get(ApiKey, key_id)
    if (
        key is None
        or key.revoked_at is not None
        or not hmac.compare_digest(key.secret_hash, _secret_hash(secret))
    ):
        raise Unauthorized("unknown or revoked API key", field="authorization")
    key.last_used_at = utcnow()
    session.add(key)
    return key


async def revoke_api_key(session: AsyncSession, key_id: str, actor: Actor) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or not within_scope(actor, [key.site] if key.site else None):
        raise NotFound(f"no API key {key_id}", field="id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        await CHAIN.append(
            session, actor.id, "api_key.revoked", f"api_key:{key_id}", {"name": key.name}
        )
    return key


async def create_user(
    session: AsyncSession,
    request: StaffUserCreate,
    creator: Actor,
    via: str = "api",
    policy: PasswordPolicy | None = None,
) -> StaffUser:
    """A new staff account, recorded in the audit chain (never its password)."""
    if via == "api":  # the CLI's operator holds the database itself (the first admin)
        check_grant(creator, request.sites, "sites")
    require_strong_password(request.password, policy or DEFAULT_POLICY)
    if await session.get(StaffUser, request.id) is not None:
        raise Conflict(f"user {request.id} exists", field="id")
    user = StaffUser(
        id=request.id,
        display_name=request.display_name,
        password_hash=hash_password(request.password),
        roles=list(request.roles),
        sites=request.sites,
        department=request.department,
        created_at=utcnow(),
    )
    session.add(user)
    record = {
        "display_name": user.display_name,
        "roles": user.roles,
        "sites": user.sites,
        "department": user.department,
        "via": via,
    }
    await CHAIN.append(session, creator.id, "user.created", f"user:{user.id}", record)
    return user


PASSWORD_MIN_LENGTH = 12
PASSWORD_MIN_CLASSES = 3


@dataclass(frozen=True)
class PasswordPolicy:
    """等保 2.0 level 3 password rules; `gateway.login.policy_of(settings)` reads the settings."""

    min_length: int = PASSWORD_MIN_LENGTH
    min_classes: int = PASSWORD_MIN_CLASSES
    history: int = 5  # a new password may not be any of the newest `history` ones
    max_age_days: float = 90.0  # 0 = never expires


DEFAULT_POLICY = PasswordPolicy()


def password_problems(password: str, policy: PasswordPolicy = DEFAULT_POLICY) -> list[str]:
    """What makes a password too weak for a staff account; empty when it is acceptable.

    At least 12 characters, with at least 3 of: lowercase, uppercase, digits, other characters
    (the defaults of `PasswordPolicy`).
    """
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"shorter than {policy.min_length} characters")
    classes = {
        "lower" if c.islower() else "upper" if c.isupper() else "digit" if c.isdigit() else "other"
        for c in password
    }
    if len(classes) < policy.min_classes:
        problems.append(
            f"uses {len(classes)} of lowercase, uppercase, digits and other characters; "
            f"at least {policy.min_classes} are required"
        )
    if password != password.strip():
        problems.append("begins or ends with whitespace")
    return problems


def require_strong_password(password: str, policy: PasswordPolicy = DEFAULT_POLICY) -> None:
    problems = password_problems(password, policy)
    if problems:
        raise Unprocessable(f"password too weak: {'; '.join(problems)}", field="password")


async def create_admin(
    session: AsyncSession,
    username: str,
    display_name: str,
    password: str,
    operator: Actor,
    policy: PasswordPolicy = DEFAULT_POLICY,
) -> StaffUser:
    """An admin account created by an operator outside the API (the first one, typically).

    The password policy is checked on the password exactly as typed.
    """
    require_strong_password(password, policy)
    try:
        request = StaffUserCreate(
            id=username, display_name=display_name, password=password, roles=["admin"]
        )
    except ValidationError as error:
        names = {"id": "username"}
        errors = [
            {"field": names.get(str(e["loc"][0]), str(e["loc"][0])), "reason": e["msg"]}
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise Unprocessable(detail, errors=errors) from error
    return await create_user(session, request, operator, via="cli", policy=policy)


async def seed_demo_users(session: AsyncSession, password: str) -> int:
    """Create the demo staff that do not exist yet; returns how many were created."""
    created = 0
    password_hash = hash_password(password)
    for user_id, name, roles, department in DEMO_USERS:
        if await session.get(StaffUser, user_id) is None:
            session.add(
                StaffUser(
                    id=user_id,
                    display_name=name,
                    password_hash=password_hash,
                    roles=roles,
                    department=department,
                    created_at=utcnow(),
                )
            )
            created += 1
    return created
