"""Request dependencies shared by the review routes: roles, the deps, Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response

from common.db import Database, SessionDep
from common.errors import Forbidden
from common.idempotency import HEADER, request_hash
from common.identity import Actor, required_actor
from common.pagination import MAX_LIMIT
from services.review.deps import Deps

READ_ROLES = ("reviewer", "confidentiality", "override", "editor", "admin", "reader")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


DepsDep = Annotated[Deps, Depends(get_deps)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def _role_check(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    """An actor dependency holding one of `roles`: FastAPI runs dependencies before it reports
    body or query errors, so a caller without the role gets 403 whatever it sent."""

    async def check(actor: Annotated[Actor, Depends(required_actor)]) -> Actor:
        actor.require_role(*roles)
        return actor

    return check


AdminDep = Annotated[Actor, Depends(_role_check("admin"))]
ConfidentialityDep = Annotated[Actor, Depends(_role_check("confidentiality"))]
CheckerDep = Annotated[Actor, Depends(_role_check("editor", "reviewer", "admin", "integrator"))]


async def global_admin(actor: AdminDep) -> Actor:
    """Lexicons and the chain serve every site: a site-scoped admin may not change them."""
    if actor.sites is not None:
        raise Forbidden("only an admin of every site may do this", field="sites")
    return actor


GlobalAdminDep = Annotated[Actor, Depends(global_admin)]


async def once(
    request: Request,
    session: SessionDep,
    deps: Deps,
    actor_id: str,
    key: str | None,
    act: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    """Run a creating request once per `Idempotency-Key` (`common.idempotency`): a retry replays
    the first answer; the key with another request is a 422, a duplicate still running a 409."""
    digest = request_hash(request.method, request.url.path, await request.body())
    return await deps.idempotency.respond(
        await get_database(request), session, actor_id, key, digest, act
    )
