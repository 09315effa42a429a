"""Reprint linkage (转载协同联动): the rules (admin), the obligations and their report (staff,
within their sites), and the lower site's answer to a proposal (editor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from common.db import SessionDep
from common.identity import ActorDep
from common.pagination import MAX_LIMIT, Page
from common.responses import json_response
from services.distribute import reprints
from services.distribute.schemas import (
    SLUG_PATTERN,
    ReprintDecline,
    ReprintObligationPublic,
    ReprintReportPublic,
    ReprintRuleCreate,
    ReprintRulePublic,
    ReprintRuleUpdate,
    ReprintState,
)

router = APIRouter(prefix="/api/v1", tags=["reprints"])
# ids are short and plain (`rr_…`, `ro_…`): anything else is refused before any lookup
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
RuleId = Annotated[str, Path(max_length=40, pattern=ID_PATTERN)]
ObligationId = Annotated[str, Path(max_length=40, pattern=ID_PATTERN)]
SiteQuery = Annotated[str | None, Query(max_length=60, pattern=SLUG_PATTERN)]
PROBLEMS: dict[int | str, dict[str, str]] = {
    403: {"description": "the caller lacks the role (problem+json)"},
    404: {"description": "no such rule or obligation (problem+json naming the field)"},
    422: {"description": "invalid input (problem+json naming the field)"},
}
DECISION_PROBLEMS: dict[int | str, dict[str, str]] = {
    **PROBLEMS,
    409: {"description": "the obligation is not a proposal any more (problem+json)"},
}


@router.post(
    "/reprint-rules", status_code=201, response_model=ReprintRulePublic, responses=PROBLEMS
)
async def create_reprint_rule(
    data: ReprintRuleCreate, session: SessionDep, actor: ActorDep
) -> Response:
    """Add a reprint rule (admin of the source site)."""
    actor.require_role("admin")
    actor.require_site(data.source_site, field="source_site")
    rule = await reprints.create_rule(session, data, actor.id)
    location = {"Location": f"/api/v1/reprint-rules/{rule.id}"}
    return json_response(reprints.rule_out(rule), 201, location)


@router.get("/reprint-rules", response_model=Page[ReprintRulePublic], responses=PROBLEMS)
async def list_reprint_rules(
    session: SessionDep,
    actor: ActorDep,
    source_site: SiteQuery = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Reprint rules in creation order, optionally of one source site (admin)."""
    actor.require_role("admin")
    return json_response(await reprints.list_rules(session, source_site, cursor, limit))


@router.get("/reprint-rules/{rule_id}", response_model=ReprintRulePublic, responses=PROBLEMS)
async def get_reprint_rule(rule_id: RuleId, session: SessionDep, actor: ActorDep) -> Response:
    """One reprint rule (admin)."""
    actor.require_role("admin")
    return json_response(reprints.rule_out(await reprints.get_rule(session, rule_id)))


@router.put("/reprint-rules/{rule_id}", response_model=ReprintRulePublic, responses=PROBLEMS)
async def replace_reprint_rule(
    rule_id: RuleId, data: ReprintRuleCreate, session: SessionDep, actor: ActorDep
) -> Response:
    """Replace a rule as a whole (admin); obligations made before keep their terms."""
    actor.require_role("admin")
    actor.require_site(data.source_site, field="source_site")
    await _require_rule_site(session, rule_id, actor)
    rule = await reprints.update_rule(session, rule_id, data, actor.id)
    return json_response(reprints.rule_out(rule))


@router.patch("/reprint-rules/{rule_id}", response_model=ReprintRulePublic, responses=PROBLEMS)
async def update_reprint_rule(
    rule_id: RuleId, data: ReprintRuleUpdate, session: SessionDep, actor: ActorDep
) -> Response:
    """Change some of a rule's fields (admin); obligations made before keep their terms."""
    actor.require_role("admin")
    await _require_rule_site(session, rule_id, actor)
    rule = await reprints.update_rule(session, rule_id, data, actor.id)
    return json_response(reprints.rule_out(rule))


@router.delete("/reprint-rules/{rule_id}", status_code=204, responses=PROBLEMS)
async def delete_reprint_rule(rule_id: RuleId, session: SessionDep, actor: ActorDep) -> Response:
    """Delete a rule (admin); the obligations it made stay, with their clock."""
    actor.require_role("admin")
    await _require_rule_site(session, rule_id, actor)
    await reprints.delete_rule(session, rule_id, actor.id)
    return Response(status_code=204)


async def _require_rule_site(session: SessionDep, rule_id: str, actor: ActorDep) -> None:
    rule = await reprints.get_rule(session, rule_id)
    actor.require_site(rule.source_site, field="source_site")


@router.get("/reprints", response_model=Page[ReprintObligationPublic], responses=PROBLEMS)
async def list_reprints(
    session: SessionDep,
    actor: ActorDep,
    site: SiteQuery = None,
    source_site: SiteQuery = None,
    state: ReprintState | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Reprint obligations in creation order: of a lower `site`, of a `source_site`, in a
    `state` (any authenticated caller; a scoped one sees what its sites owe or asked for)."""
    result = await reprints.list_obligations(
        session, site, source_site, state, cursor, limit, actor.sites
    )
    return json_response(result)


@router.get("/reprints/report", response_model=ReprintReportPublic, responses=PROBLEMS)
async def reprint_report(session: SessionDep, actor: ActorDep, site: SiteQuery = None) -> Response:
    """Per lower site and unit: due, done in time, late, missing (not live and past due),
    pending and declined — of the originals of source `site`, or of every site (any
    authenticated caller, within its sites). Deadlines are clock hours: weekends count."""
    return json_response(await reprints.report(session, site, actor.sites))


@router.post(
    "/reprints/{obligation_id}/accept",
    response_model=ReprintObligationPublic,
    responses=DECISION_PROBLEMS,
)
async def accept_reprint(
    obligation_id: ObligationId, session: SessionDep, actor: ActorDep
) -> Response:
    """The lower site takes a proposed reprint: the library makes it (editor or admin of the
    lower site; 404 outside it, 409 unless proposed)."""
    actor.require_role("editor", "admin")
    obligation = await reprints.accept(session, obligation_id, actor)
    return json_response(reprints.obligation_out(obligation))


@router.post(
    "/reprints/{obligation_id}/decline",
    response_model=ReprintObligationPublic,
    responses=DECISION_PROBLEMS,
)
async def decline_reprint(
    obligation_id: ObligationId, data: ReprintDecline, session: SessionDep, actor: ActorDep
) -> Response:
    """The lower site turns a proposed reprint down with a reason (editor or admin of the lower
    site; 404 outside it, 409 unless proposed)."""
    actor.require_role("editor", "admin")
    obligation = await reprints.decline(session, obligation_id, data.reason, actor)
    return json_response(reprints.obligation_out(obligation))
