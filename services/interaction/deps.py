"""Request-scoped dependencies: the domain context and the client's address."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated

from fastapi import Depends, Request

from common.db import SessionDep
from services.interaction.context import Ctx


async def domain_context(request: Request, session: SessionDep) -> Ctx:
    state = request.app.state
    calendar = await state.calendar.get(session)
    return Ctx(session, calendar, state.clock, state.settings)


CtxDep = Annotated[Ctx, Depends(domain_context, scope="function")]


def client_ip(request: Request) -> str:
    """The peer address; `X-Forwarded-For` is believed only when the peer is a trusted proxy.

    Walks the header from the right and stops at the first address that is not a trusted proxy,
    so a client cannot choose its own rate-limit key by sending the header itself.
    """
    trusted = set(request.app.state.settings.trusted_proxies)
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop if _is_ip(hop) else peer
    return peer


def _is_ip(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


ClientIp = Annotated[str, Depends(client_ip)]
