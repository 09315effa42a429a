"""`POST /api/v1/contents/{id}/retraction`: an editor of the item's site (or an admin) retracts
a published item (撤稿) — the library at once, every outlet through distribute."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from common.db import SessionDep
from common.identity import Actor, ActorDep
from common.responses import json_response
from services.ingest import retraction
from services.ingest.schemas import RetractionIn, RetractionPublic

router = APIRouter(prefix="/api/v1", tags=["contents"])
RETRACTION_STAFF = ("editor", "admin")


async def retraction_staff(actor: ActorDep) -> Actor:
    """As a dependency, so a caller without the role gets 403 before its body is validated."""
    actor.require_role(*RETRACTION_STAFF)
    return actor


RetractionStaffDep = Annotated[Actor, Depends(retraction_staff)]


@router.post("/contents/{content_id}/retraction", status_code=202, response_model=RetractionPublic)
async def retract_content(
    content_id: str,
    body: RetractionIn,
    session: SessionDep,
    actor: RetractionStaffDep,
) -> Response:
    """Retract a published (or approved) item: it leaves public search and its attachments
    answer 410 at once; `content.retraction_requested` takes it off the portal, feeds, webhooks
    and new-media accounts (each outlet's answer: `GET /api/v1/deliveries/outlets/{id}`).

    409 when the item has nothing approved or published to retract — also for a second request
    while it is retracted (the first request's reason and time stand)."""
    done = await retraction.request_retraction(session, content_id, body.reason, actor)
    return json_response(done, status_code=202)
