"""Registered webhook receivers; the caller commits.

Signing secrets are sealed at rest with the data key (`common.secretbox`): the row holds
`fernet:…`, the plain secret exists only in the reply that created the endpoint and, briefly, in
the dispatcher that signs with it.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound, Unprocessable
from common.events import utcnow
from common.outbound import DestinationRefused, OutboundPolicy
from common.secretbox import SecretBox
from services.distribute import audit
from services.distribute.models import Site, SiteColumn, WebhookEndpoint
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
        "columns": endpoint.columns,
        "kinds": endpoint.kinds,
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
    outbound: OutboundPolicy,
    actor: str,
) -> dict[str, Any]:
    """Register the endpoint; returns the creating reply with the secret still *sealed*
    (`reveal` opens it on the way out), so a remembered reply (`Idempotency-Key`) keeps the
    secret sealed at rest too. The URL is checked against `outbound` here and again at every
    send (the name may resolve elsewhere later)."""
    try:
        await outbound.check_url(str(data.url))
    except DestinationRefused as error:
        raise Unprocessable(
            "webhooks may not be sent to loopback, private, link-local or metadata addresses",
            field="url",
        ) from error
    await _check_subscription(session, data)
    secret = data.secret or new_secret()
    endpoint = WebhookEndpoint(
        id=f"ep_{uuid.uuid4().hex}",
        url=str(data.url),
        secret=box.seal(secret),
        events=sorted(set(data.events)),
        site=data.site,
        columns=sorted(set(data.columns)),
        kinds=sorted(set(data.kinds)),
        description=data.description,
        created_at=utcnow(),
    )
    session.add(endpoint)
    await session.flush()
    await audit.record(session, actor, "webhook_endpoint.created", endpoint.id, _audited(endpoint))
    return endpoint_out(endpoint, secret=endpoint.secret)


async def _check_subscription(session: AsyncSession, data: WebhookEndpointCreate) -> None:
    """The site exists; the columns (which need a site) are columns of it (422 naming them)."""
    if data.site is not None and await session.get(Site, data.site) is None:
        raise Unprocessable(f"unknown site {data.site!r}", field="site")
    if not data.columns:
        return
    if data.site is None:
        raise Unprocessable(
            "columns filter the columns of one site: name its site", field="columns"
        )
    query = select(col(SiteColumn.slug)).where(
        col(SiteColumn.site) == data.site, col(SiteColumn.slug).in_(data.columns)
    )
    known: list[str] = list(await session.exec(query))
    unknown = sorted(set(data.columns) - set(known))
    if unknown:
        names = ", ".join(unknown)
        raise Unprocessable(f"no column {names} on site {data.site!r}", field="columns")


def reveal(reply: bytes, box: SecretBox) -> dict[str, Any]:
    """The creating reply as the client sees it: the sealed secret opened."""
    body: dict[str, Any] = orjson.loads(reply)
    if "secret" in body:
        body["secret"] = box.open(body["secret"])
    return body


def _audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the chain keeps of an endpoint: where and what it receives, never its secret."""
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "site": endpoint.site,
        "columns": endpoint.columns,
        "kinds": endpoint.kinds,
        "description": endpoint.description,
    }


async def seal_plain_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Seal plain secrets and re-seal those of a previous data key (run at start); returns how
    many changed. A secret no known key opens stays as it is (its deliveries wait, logged)."""
    endpoints = await session.exec(select(WebhookEndpoint).with_for_update())
    changed = box.reseal_rows(endpoints)
    session.add_all(changed)
    await session.flush()
    return len(changed)


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.active).is_(True))
    return list(await session.exec(query.order_by(col(WebhookEndpoint.created_at))))


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
