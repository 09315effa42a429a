"""Registered webhook receivers; the caller commits.

Signing secrets are sealed at rest with the data key (`common.secretbox`): the row holds
`fernet:…`, the plain secret exists only in the reply that created the endpoint and, briefly, in
the dispatcher that signs with it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Conflict, NotFound, Unprocessable
from common.events import utcnow
from common.secretbox import SecretBox
from services.distribute import audit
from services.distribute.models import Site, WebhookEndpoint
from services.distribute.pagetags import iso
from services.distribute.schemas import WebhookEndpointCreate
from services.distribute.webhooks import new_secret


def endpoint_out(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The endpoint as the API shows it; `secret` (plain) only in the reply that created it."""
    out: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "site": endpoint.site,
        "description": endpoint.description,
        "active": endpoint.active,
        "created_at": iso(endpoint.created_at),
    }
    if secret is not None:
        out["secret"] = secret
    return out


async def create_endpoint(
    session: AsyncSession,
    data: WebhookEndpointCreate,
    box: SecretBox,
    actor: str,
    idempotency_key: str | None = None,
) -> tuple[WebhookEndpoint, str, bool]:
    """The new endpoint and its plain secret, or the endpoint an earlier request with the same
    key created (True: the replay shows the same secret)."""
    if idempotency_key is not None:
        query = select(WebhookEndpoint).where(WebhookEndpoint.idempotency_key == idempotency_key)
        earlier = (await session.execute(query)).scalar_one_or_none()
        if earlier is not None:
            secret = box.open(earlier.secret)
            if not _same_request(earlier, secret, data):
                raise Conflict(
                    "Idempotency-Key already used for a different endpoint",
                    field="Idempotency-Key",
                )
            return earlier, secret, True
    if data.site is not None and await session.get(Site, data.site) is None:
        raise Unprocessable(f"unknown site {data.site!r}", field="site")
    secret = data.secret or new_secret()
    endpoint = WebhookEndpoint(
        id=f"ep_{uuid.uuid4().hex}",
        url=str(data.url),
        secret=box.seal(secret),
        events=sorted(set(data.events)),
        site=data.site,
        description=data.description,
        idempotency_key=idempotency_key,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(endpoint)
    except IntegrityError as error:  # a concurrent request with the same key won
        raise Conflict("retry: a request with this Idempotency-Key is in progress") from error
    await audit.record(session, actor, "webhook_endpoint.created", endpoint.id, _audited(endpoint))
    return endpoint, secret, False


def _audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the chain keeps of an endpoint: where and what it receives, never its secret."""
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "site": endpoint.site,
        "description": endpoint.description,
    }


def _same_request(endpoint: WebhookEndpoint, secret: str, data: WebhookEndpointCreate) -> bool:
    return (
        endpoint.url == str(data.url)
        and endpoint.events == sorted(set(data.events))
        and endpoint.site == data.site
        and (data.secret is None or data.secret == secret)
    )


async def seal_plain_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Seal plain secrets and re-seal those of a previous data key (run at start); returns how
    many changed. A secret no known key opens stays as it is (its deliveries wait, logged)."""
    endpoints = (await session.execute(select(WebhookEndpoint).with_for_update())).scalars()
    changed = box.reseal_rows(endpoints)
    session.add_all(changed)
    await session.flush()
    return len(changed)


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))
    return list((await session.execute(query.order_by(WebhookEndpoint.created_at))).scalars())


async def get_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.active:
        raise NotFound(f"no webhook endpoint {endpoint_id}", field="id")
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint_id: str, actor: str) -> None:
    """Stop sending to it; kept (inactive) so the delivery log still says where things went.
    Its pending deliveries are cancelled by the dispatcher when they come due."""
    endpoint = await get_endpoint(session, endpoint_id)
    endpoint.active, endpoint.deleted_at = False, utcnow()
    session.add(endpoint)
    await session.flush()
    await audit.record(session, actor, "webhook_endpoint.removed", endpoint.id, _audited(endpoint))
