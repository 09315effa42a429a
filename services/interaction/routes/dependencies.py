"""Request-scoped dependencies: the service's `Deps`, the domain context, the caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.db import SessionDep
from common.identity import caller_address
from services.interaction.context import Ctx
from services.interaction.deps import Deps


async def service_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(service_deps)]


async def domain_context(request: Request, session: SessionDep) -> Ctx:
    deps = await service_deps(request)
    calendar = await deps.calendar.get(session)
    return Ctx(session, calendar, deps.clock, deps.settings)


CtxDep = Annotated[Ctx, Depends(domain_context, scope="function")]


ClientIp = Annotated[str, Depends(caller_address)]
