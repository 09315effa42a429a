"""Who is calling: the gateway authenticates and passes a signed actor to the services.

Services listen on private addresses, but they still verify the HMAC over the actor header with
the shared internal secret, so nothing but the gateway can claim an identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import BaseModel

from common.errors import Forbidden, Unauthorized

ACTOR_HEADER = "x-kitchen-actor"
SIGNATURE_HEADER = "x-kitchen-actor-signature"

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


def actor_headers(actor: Actor, secret: str) -> dict[str, str]:
    encoded = base64.urlsafe_b64encode(actor.model_dump_json().encode())
    return {ACTOR_HEADER: encoded.decode(), SIGNATURE_HEADER: sign(encoded, secret)}


def actor_from_headers(headers: dict[str, str] | object, secret: str) -> Actor | None:
    """The verified actor, None when absent; a forged or garbled header is a 401."""
    get = headers.get  # type: ignore[attr-defined]
    encoded, signature = get(ACTOR_HEADER), get(SIGNATURE_HEADER)
    if not encoded:
        return None
    if not signature or not hmac.compare_digest(sign(encoded.encode(), secret), signature):
        raise Unauthorized("invalid internal identity signature")
    return Actor.model_validate_json(base64.urlsafe_b64decode(encoded.encode()))


def service_actor_headers(service: str, secret: str) -> dict[str, str]:
    """How one service identifies itself when it calls another's API (read-only)."""
    actor = Actor(id=f"service:{service}", name=service, kind="service", roles=["reader"])
    return actor_headers(actor, secret)


def optional_actor(request: Request) -> Actor | None:
    return actor_from_headers(request.headers, request.app.state.settings.internal_secret)


def required_actor(request: Request) -> Actor:
    actor = optional_actor(request)
    if actor is None:
        raise Unauthorized("authentication required")
    return actor


ActorDep = Annotated[Actor, Depends(required_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]
