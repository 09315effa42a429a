"""Who is calling: the gateway authenticates and passes a signed actor to the services.

Services listen on private addresses, but they still verify the HMAC over the actor header with
the shared internal secret, so nothing but the gateway can claim an identity. The signed material
also holds the issue time (Unix seconds) and the client address the gateway determined, so a
captured header is refused once it is older than `KITCHEN_INTERNAL_SIGNATURE_MAX_AGE_SECONDS`
(30, plus `KITCHEN_INTERNAL_SIGNATURE_CLOCK_SKEW_SECONDS`, 5, either way) and a client address
cannot be claimed without the secret. There is no nonce: within the window a captured header can
be replayed by whoever can already reach the private network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, cast

from fastapi import Depends, Request
from pydantic import BaseModel

from common.client_address import peer_address
from common.errors import Forbidden, Unauthorized

ACTOR_HEADER = "x-kitchen-actor"
SIGNATURE_HEADER = "x-kitchen-actor-signature"
ISSUED_AT_HEADER = "x-kitchen-issued-at"
# The caller's address as the gateway determined it (common.client_address); signed with the actor.
CLIENT_ADDRESS_HEADER = "x-kitchen-client-address"
SIGNATURE_VERSION = "kitchen-internal-v2"
DEFAULT_MAX_AGE_SECONDS = 30.0
DEFAULT_CLOCK_SKEW_SECONDS = 5.0

Role = Literal[
    "admin",  # runs the platform: sites, columns, users, lexicons, policies
    "editor",  # submits and edits content
    "reviewer",  # signs review stages
    "confidentiality",  # records the 保密 attestation
    "override",  # may approve over a blocking finding with a written reason
    "office",  # interaction office: screens, dispatches, supervises cases
    "handler",  # department handler: answers cases
    "integrator",  # machine pushing content
    "reader",  # machine reading staff APIs
]


class Actor(BaseModel):
    """An authenticated staff user or API key, as the gateway vouches for it."""

    id: str
    name: str
    kind: Literal["user", "api_key", "service"] = "user"
    roles: list[str] = []
    scopes: list[str] = []
    sites: list[str] | None = None  # None = every site
    department: str | None = None

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def require_role(self, *roles: str) -> None:
        if not self.has_role(*roles):
            raise Forbidden(f"requires role {' or '.join(roles)}")

    def may_use_site(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    def require_site(self, site: str, field: str = "site") -> None:
        if not self.may_use_site(site):
            raise Forbidden(f"not allowed for site {site}", field=field)


def sign(value: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), value, hashlib.sha256).hexdigest()


def _signed_material(issued_at: str, client_address: str, encoded_actor: str) -> bytes:
    # Every vouched field is in the material, so none can be swapped without the secret.
    return "\n".join((SIGNATURE_VERSION, issued_at, client_address, encoded_actor)).encode()


def internal_headers(
    secret: str,
    actor: Actor | None = None,
    client_address: str | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The headers the gateway vouches with: actor and/or client address, issued now, signed."""
    issued_at = f"{time.time() if now is None else now:.3f}"
    headers = {ISSUED_AT_HEADER: issued_at}
    encoded = ""
    if actor is not None:
        encoded = base64.urlsafe_b64encode(actor.model_dump_json().encode()).decode()
        headers[ACTOR_HEADER] = encoded
    if client_address:
        headers[CLIENT_ADDRESS_HEADER] = client_address
    material = _signed_material(issued_at, client_address or "", encoded)
    headers[SIGNATURE_HEADER] = sign(material, secret)
    return headers


class SignedHeaders(Mapping[str, str]):
    """Internal headers that sign themselves again each time they are iterated.

    A signature is only good for `internal_signature_max_age_seconds`, so a long-lived holder
    (a client built once, a test's module constant) must not keep one signed copy. Iterating —
    what httpx, `dict(...)` and `{**headers}` do — signs afresh; a lookup by key reuses the copy
    of the last iteration (younger than `REUSE_SECONDS`), so one read sees one consistent set.
    """

    REUSE_SECONDS = 5.0

    def __init__(
        self, secret: str, actor: Actor | None = None, client_address: str | None = None
    ) -> None:
        self.secret, self.actor, self.client_address = secret, actor, client_address
        self._signed: dict[str, str] = {}
        self._signed_at = -math.inf

    def _current(self, fresh: bool) -> dict[str, str]:
        now = time.time()
        if fresh or now - self._signed_at > self.REUSE_SECONDS:
            self._signed = internal_headers(self.secret, self.actor, self.client_address, now)
            self._signed_at = now
        return self._signed

    def __iter__(self) -> Iterator[str]:
        return iter(self._current(fresh=True))

    def __getitem__(self, key: str) -> str:
        return self._current(fresh=False)[key]

    def __len__(self) -> int:
        return len(self._current(fresh=False))

    def __repr__(self) -> str:
        return f"SignedHeaders(actor={self.actor!r}, client_address={self.client_address!r})"


def actor_headers(
    actor: Actor, secret: str, client_address: str | None = None
) -> Mapping[str, str]:
    """Signed identity headers for `actor`, signed again whenever they are sent."""
    return SignedHeaders(secret, actor, client_address)


@dataclass(frozen=True)
class Vouched:
    """What a verified internal signature vouches for (both None when nothing was claimed)."""

    actor: Actor | None
    client_address: str | None


def verify_internal_headers(
    headers: Mapping[str, str] | object,
    secret: str,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    clock_skew_seconds: float = DEFAULT_CLOCK_SKEW_SECONDS,
    now: float | None = None,
) -> Vouched:
    """The actor and client address the gateway vouched for; 401 when the signature is missing,
    forged, garbled, issued more than `max_age_seconds` ago or in the future."""
    get = cast(Mapping[str, str], headers).get
    encoded, client_address = get(ACTOR_HEADER), get(CLIENT_ADDRESS_HEADER)
    if not encoded and not client_address:
        return Vouched(None, None)
    signature, issued_at = get(SIGNATURE_HEADER) or "", get(ISSUED_AT_HEADER) or ""
    material = _signed_material(issued_at, client_address or "", encoded or "")
    if not signature or not hmac.compare_digest(sign(material, secret), signature):
        raise Unauthorized("invalid internal identity signature")
    try:
        issued = float(issued_at)
    except ValueError:
        raise Unauthorized("invalid internal identity signature") from None
    age = (time.time() if now is None else now) - issued
    if not -clock_skew_seconds <= age <= max_age_seconds + clock_skew_seconds:
        raise Unauthorized("internal identity signature expired")
    try:
        actor = Actor.model_validate_json(base64.urlsafe_b64decode(encoded)) if encoded else None
    except (ValueError, binascii.Error):
        raise Unauthorized("invalid internal identity header") from None
    return Vouched(actor, client_address or None)


def actor_from_headers(
    headers: Mapping[str, str] | object,
    secret: str,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    clock_skew_seconds: float = DEFAULT_CLOCK_SKEW_SECONDS,
    now: float | None = None,
) -> Actor | None:
    """The verified actor, None when absent; a forged, garbled or stale header is a 401."""
    return verify_internal_headers(headers, secret, max_age_seconds, clock_skew_seconds, now).actor


def service_actor_headers(service: str, secret: str) -> Mapping[str, str]:
    """How one service identifies itself when it calls another's API (read-only)."""
    actor = Actor(id=f"service:{service}", name=service, kind="service", roles=["reader"])
    return actor_headers(actor, secret)


def vouched(request: Request) -> Vouched:
    """What the gateway vouched for on this request, verified with the service's settings."""
    settings = request.app.state.settings
    return verify_internal_headers(
        request.headers,
        settings.internal_secret,
        settings.internal_signature_max_age_seconds,
        settings.internal_signature_clock_skew_seconds,
    )


async def caller_address(request: Request) -> str:
    """The caller's address: the one the gateway vouched for in its signed headers, else
    `common.client_address.peer_address` (the socket peer through the trusted proxies).

    A client cannot choose its own address: an unsigned or stale address header is a 401, and
    `X-Forwarded-For` counts only from configured proxies, walked from the right.
    """
    forwarded = vouched(request).client_address
    return forwarded if forwarded is not None else peer_address(request)


async def optional_actor(request: Request) -> Actor | None:
    return vouched(request).actor


async def required_actor(request: Request) -> Actor:
    actor = await optional_actor(request)
    if actor is None:
        raise Unauthorized("authentication required")
    return actor


ActorDep = Annotated[Actor, Depends(required_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]
