"""The merged OpenAPI document of the hub and its Swagger UI (not in the document itself)."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html

from gateway.openapi import merge_schema
from gateway.routes.dependencies import DepsDep

router = APIRouter(include_in_schema=False)
OPENAPI_TTL_SECONDS = 60.0


@router.get("/openapi.json")
async def openapi_document(request: Request, deps: DepsDep) -> Response:
    """The merged document, rebuilt at most every `OPENAPI_TTL_SECONDS` (services change rarely)."""
    app = request.app
    cached: tuple[float, bytes] | None = getattr(app.state, "openapi_cache", None)
    if cached is not None and time.monotonic() - cached[0] <= OPENAPI_TTL_SECONDS:
        return Response(cached[1], media_type="application/json")
    docs = await deps.upstreams.openapi_documents()
    body = orjson.dumps(merge_schema(app.openapi(), docs))
    # A service that was down is asked again next time rather than left out for a minute.
    if len(docs) == len(deps.upstreams.services):
        app.state.openapi_cache = (time.monotonic(), body)
    return Response(body, media_type="application/json")


@router.get("/docs")
async def swagger_ui() -> Response:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="信息中央厨房 API")
