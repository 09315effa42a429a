"""Turning the credentials a request presents into an `Actor` (or None for the public).

A caller presents a staff token (`Authorization: Bearer <JWT from POST /api/v1/auth/token>`) or
a machine key (`Authorization: Bearer ck_…`, the `X-API-Key` header, or — Open311 clients only —
an `api_key` query or form field). Credentials that are wrong are a 401, never the public.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Unauthorized
from common.identity import Actor
from gateway import service

API_KEY_HEADER = "x-api-key"
OPEN311_PREFIX = "/open311/"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Credentials:
    """What a request presented: a staff token, a machine key, or nothing."""

    token: str | None = None
    api_key: str | None = None

    @property
    def empty(self) -> bool:
        return self.token is None and self.api_key is None


def credentials_of(authorization: str, api_key_header: str | None) -> Credentials:
    """The credentials of the `Authorization` and `X-API-Key` headers; a bearer credential wins
    and a malformed `Authorization` is a 401."""
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise Unauthorized(
                "use 'Authorization: Bearer <token or API key>'", field="authorization"
            )
        if credential.startswith(service.API_KEY_PREFIX):
            return Credentials(api_key=credential)
        return Credentials(token=credential)
    return Credentials(api_key=api_key_header or None)


def open311_form_key(content_type: str, body: bytes) -> str | None:
    """The `api_key` field of an Open311 form body (they send it there, not in a header)."""
    if not content_type.startswith(FORM_CONTENT_TYPE):
        return None
    fields = parse_qs(body.decode("utf-8", "replace"))
    return fields.get("api_key", [None])[0]


async def actor_of(session: AsyncSession, found: Credentials, token_secret: str) -> Actor | None:
    """The caller's identity; None without credentials; 401 for credentials that are wrong."""
    if found.token is not None:
        user = await service.user_from_token(session, found.token, token_secret)
        return service.actor_of_user(user)
    if found.api_key:
        return service.actor_of_key(await service.api_key_from_secret(session, found.api_key))
    return None
