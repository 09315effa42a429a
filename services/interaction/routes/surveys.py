"""HTTP routes of surveys and solicitations (征集调查)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.errors import Unprocessable
from common.identity import ActorDep, OptionalActorDep
from common.responses import json_response
from services.interaction import surveys
from services.interaction.routes.dependencies import CtxDep
from services.interaction.schemas import (
    AdoptionReport,
    SurveyAnswer,
    SurveyIn,
    SurveyPublic,
    SurveyReceiptPublic,
    SurveyResultsPublic,
)

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])


@router.post("", status_code=201, response_model=SurveyPublic)
async def survey_create(body: SurveyIn, ctx: CtxDep, actor: ActorDep) -> Response:
    """Create a survey or solicitation as a draft (office)."""
    return json_response(surveys.view(await surveys.create(ctx, actor, body), ctx), status_code=201)


@router.post("/{survey_id}/publish", response_model=SurveyPublic)
async def survey_publish(survey_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Publish a draft; it opens and closes with its window (office)."""
    return json_response(surveys.view(await surveys.publish(ctx, actor, survey_id), ctx))


@router.get("/{survey_id}", response_model=SurveyPublic)
async def survey_get(survey_id: str, ctx: CtxDep) -> Response:
    """A published survey with its questions and phase (public)."""
    return json_response(surveys.view(await surveys.get(ctx, survey_id), ctx))


@router.post("/{survey_id}/responses", status_code=201, response_model=SurveyReceiptPublic)
async def survey_respond(
    survey_id: str, body: SurveyAnswer, ctx: CtxDep, actor: OptionalActorDep
) -> Response:
    """Answer a survey, once per session / phone / account (public)."""
    if body.website:
        raise Unprocessable("提交被拒绝", field="website")
    response = await surveys.respond(ctx, survey_id, body, actor)
    return json_response(
        {"survey": survey_id, "received_at": response.at.isoformat()}, status_code=201
    )


@router.get("/{survey_id}/results", response_model=SurveyResultsPublic)
async def survey_results(survey_id: str, ctx: CtxDep, actor: OptionalActorDep) -> Response:
    """Results and adoption report; public once published, staff any time."""
    return json_response(await surveys.visible_results(ctx, survey_id, actor))


@router.post("/{survey_id}/result", response_model=SurveyPublic)
async def survey_publish_result(
    survey_id: str, body: AdoptionReport, ctx: CtxDep, actor: ActorDep
) -> Response:
    """Publish the result: received, adopted and why not (office)."""
    survey = await surveys.publish_result(ctx, actor, survey_id, body)
    return json_response(surveys.view(survey, ctx))
