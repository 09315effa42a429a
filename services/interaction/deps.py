"""Request-scoped dependencies: the domain context and the client's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.db import SessionDep
from common.identity import caller_address
from services.interaction.context import Ctx


async def domain_context(request: Request, session: SessionDep) -> Ctx:
    state = request.app.state
    calendar = await state.calendar.get(session)
    return Ctx(session, calendar, state.clock, state.settings)


CtxDep = Annotated[Ctx, Depends(domain_context, scope="function")]


ClientIp = Annotated[str, Depends(caller_address)]
