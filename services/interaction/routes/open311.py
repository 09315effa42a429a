"""HTTP routes of the Open311 GeoReport v2 layer; its errors are `[{code, description}]`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from common.identity import OptionalActorDep
from common.responses import json_response
from services.interaction import open311
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import (
    Open311CreatedPublic,
    Open311DiscoveryPublic,
    Open311RequestPublic,
    Open311ServiceDefinitionPublic,
    Open311ServicePublic,
    Open311TokenPublic,
)

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def errors(error: open311.Open311Error) -> Response:
    return json_response(
        [{"code": error.status, "description": error.description}], status_code=error.status
    )


async def _answer(work: Callable[[], Awaitable[Any]], status_code: int = 200) -> Response:
    try:
        return json_response(await work(), status_code=status_code)
    except open311.Open311Error as error:
        return errors(error)


@router.get("/discovery.json", response_model=Open311DiscoveryPublic)
async def discovery(request: Request) -> Response:
    """Open311 discovery."""
    return json_response(open311.discovery(str(request.base_url)))


@router.get("/services.json", response_model=list[Open311ServicePublic])
async def service_list() -> Response:
    """Service types: our case kinds."""
    return json_response(open311.services())


@router.get("/services/{code}.json", response_model=Open311ServiceDefinitionPublic)
async def service_definition(code: str) -> Response:
    """Attribute definitions of a service."""
    try:
        return json_response(open311.service_definition(code))
    except open311.Open311Error as error:
        return errors(error)


@router.get("/requests.json", response_model=list[Open311RequestPublic])
async def list_requests(
    ctx: CtxDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """Published requests: by ids, or filtered (at most 90 days and 1,000 requests).

    A case that is private, or whose public rendition is not approved yet, is not listed at all.
    """
    return await _answer(
        lambda: open311.list_requests(
            ctx, service_request_id, service_code, start_date, end_date, status
        )
    )


@router.get("/requests/{number}.json", response_model=list[Open311RequestPublic])
async def get_request(number: str, ctx: CtxDep) -> Response:
    """One published request by its id (our case number); any other case is not found."""
    return await _answer(lambda: open311.get_request(ctx, number))


@router.get("/tokens/{token}.json", response_model=list[Open311TokenPublic])
async def token(token: str, ctx: CtxDep) -> Response:
    """The request id behind a token returned by POST."""
    return await _answer(lambda: open311.token(ctx, token))


@router.post("/requests.json", response_model=list[Open311CreatedPublic])
async def create_request(request: Request, ctx: CtxDep, actor: OptionalActorDep) -> Response:
    """File a request (form-encoded) with an API key of scope `cases:submit`."""
    try:
        submitter = open311.require_submitter(actor)
    except open311.Open311Error as error:
        return errors(error)
    form = dict(await request.form())
    return await _answer(lambda: open311.create_request(ctx, submitter, form), status_code=201)
