"""Review policies: which stages a site's kind of item goes through, and who signs each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from common.db import SessionDep
from common.errors import Forbidden
from common.identity import Actor, ActorDep
from common.responses import json_response
from services.review import policies
from services.review.routes.dependencies import AdminDep, DepsDep, IdempotencyKey, once
from services.review.schemas import EffectivePolicyPublic, PolicyIn, PolicyPagePublic, PolicyPublic

router = APIRouter(prefix="/api/v1", tags=["review administration"])

PolicySite = Annotated[str, Path(pattern=r"^(\*|[a-z0-9][a-z0-9-]{0,59})$")]
PolicyKind = Annotated[str, Path(pattern=r"^(\*|[a-z][a-z_-]{0,29})$")]


async def policy_admin(site: PolicySite, actor: AdminDep) -> Actor:
    """An admin of `site` (of every site for `*`), checked before the body is looked at."""
    if site == "*" and actor.sites is not None:
        raise Forbidden("only an admin of every site may set the policy of site *", field="site")
    actor.require_site(site)
    return actor


PolicyAdminDep = Annotated[Actor, Depends(policy_admin)]


@router.get("/review-policies", response_model=PolicyPagePublic)
async def list_policies(session: SessionDep, actor: ActorDep) -> Response:
    """Every configured policy (the built-in default applies where none matches)."""
    actor.require_role("admin", "reviewer")
    return json_response(await policies.policy_page(session))


@router.get("/review-policies/{site}/{kind}", response_model=EffectivePolicyPublic)
async def get_policy(
    site: PolicySite, kind: PolicyKind, session: SessionDep, actor: ActorDep
) -> Response:
    """The policy that applies to (site, kind), saying which row it came from (within the
    caller's sites; `*` is readable by all of them)."""
    actor.require_role("admin", "reviewer", "editor")
    if site != "*":
        actor.require_site(site)
    return json_response((await policies.resolve(session, site, kind)).as_dict())


@router.put("/review-policies/{site}/{kind}", response_model=PolicyPublic)
async def put_policy(
    site: PolicySite,
    kind: PolicyKind,
    body: PolicyIn,
    request: Request,
    session: SessionDep,
    actor: PolicyAdminDep,
    deps: DepsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create or replace the policy of (site, kind); `*` matches any. With `Idempotency-Key`
    a retry replays the first answer instead of recording a second policy change.
    A site-scoped admin sets only its own sites' policies (`*` is every site)."""

    async def act() -> tuple[int, Any]:
        return 200, await policies.put_policy(session, site, kind, body.values(), actor.id)

    return await once(request, session, deps, actor.id, idempotency_key, act)
