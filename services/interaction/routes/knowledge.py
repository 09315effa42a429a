"""HTTP routes of the knowledge base (咨询答问库)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.identity import ActorDep
from common.responses import json_response
from services.interaction import knowledge
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import Items, KnowledgeEntryPublic, KnowledgeFromCase, KnowledgeIn

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])


@router.get("", response_model=Items[KnowledgeEntryPublic])
async def knowledge_search(
    ctx: CtxDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    department: str | None = None,
) -> Response:
    """Valid knowledge-base entries, by similarity to `q` (public)."""
    return json_response({"items": await knowledge.search(ctx, q, department)})


@router.post("", status_code=201, response_model=KnowledgeEntryPublic)
async def knowledge_create(body: KnowledgeIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Add an entry (office, handler)."""
    return json_response(knowledge.view(await knowledge.create(ctx, actor, body)), status_code=201)


@router.post("/from-case/{number}", status_code=201, response_model=KnowledgeEntryPublic)
async def knowledge_from_case(
    number: str, body: KnowledgeFromCase, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Turn a good reply into an entry, personal data masked (office, handler)."""
    entry = await knowledge.from_case(ctx, actor, number, body)
    return json_response(knowledge.view(entry), status_code=201)
