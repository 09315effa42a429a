"""Logins: a token for a name and password, a password change, who the caller is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from common.db import SessionDep
from common.errors import ProblemError, problem_response
from common.identity import Actor
from common.responses import json_response
from gateway import login as logins
from gateway.routes.dependencies import ClientIp, CurrentActor, DepsDep
from gateway.schemas import PasswordChange, TokenOut

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut)
async def login(
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    request: Request,
    session: SessionDep,
    deps: DepsDep,
    ip: ClientIp,
) -> Response:
    """Exchange a staff user's name and password for a bearer token (OAuth2 password flow).

    401 for wrong credentials; 429 with `Retry-After` after repeated failures (per name and per
    address); 403 `password_expired` when the password must be changed first."""
    outcome = await logins.token_for(
        session, username, password, ip, deps.login_rules, deps.settings
    )
    if isinstance(outcome, ProblemError):
        return _refusal(outcome, request)  # returned, not raised: the failure count is committed
    return json_response(outcome.model_dump())


@router.post("/auth/password", status_code=204)
async def change_password(
    body: PasswordChange, request: Request, session: SessionDep, deps: DepsDep, ip: ClientIp
) -> Response:
    """Set a new password with the current one (also an expired one); same throttles as login."""
    outcome = await logins.change_password(
        session, body.username, body.current_password, body.new_password, ip, deps.login_rules
    )
    if isinstance(outcome, ProblemError):
        return _refusal(outcome, request)
    return Response(status_code=204)


def _refusal(error: ProblemError, request: Request) -> Response:
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        error.errors,
        request.url.path,
        error.headers,
    )


@router.get("/auth/me", response_model=Actor)
async def whoami(actor: CurrentActor) -> Response:
    """The identity the gateway vouches for on this request."""
    return json_response(actor.model_dump())
