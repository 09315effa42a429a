"""Request-scoped dependencies: the domain context and the client's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.client_address import client_ip as common_client_ip
from common.db import SessionDep
from common.identity import vouched
from services.interaction.context import Ctx


async def domain_context(request: Request, session: SessionDep) -> Ctx:
    state = request.app.state
    calendar = await state.calendar.get(session)
    return Ctx(session, calendar, state.clock, state.settings)


CtxDep = Annotated[Ctx, Depends(domain_context, scope="function")]


def client_ip(request: Request) -> str:
    """The caller's address: the one the gateway vouched for in its signed headers, else the
    socket peer as `common.client_address` reads it (`KITCHEN_TRUSTED_PROXIES`, default none).

    A client cannot choose its own rate-limit key: an unsigned or stale address header is a 401,
    and `X-Forwarded-For` counts only from configured proxies, walked from the right.
    """
    forwarded = vouched(request).client_address
    if forwarded is not None:
        return forwarded
    return common_client_ip(request, request.app.state.settings.trusted_proxies)


ClientIp = Annotated[str, Depends(client_ip)]
