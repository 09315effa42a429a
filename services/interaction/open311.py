"""An Open311 GeoReport v2 layer (JSON) over our cases, so existing Open311 clients work.

Only what a citizen agreed to publish is shown: a request's description is the approved public
rendition, or empty. Errors are Open311's `[{code, description}]`, not problem+json.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from common.identity import OptionalActorDep
from common.responses import json_response
from services.interaction.cases import clocks, intake
from services.interaction.cases.workflow import STATE_LABELS
from services.interaction.clock import SHANGHAI
from services.interaction.deps import CtxDep
from services.interaction.models import Case, Publication
from services.interaction.schemas import ApiCaseSubmission

router = APIRouter(prefix="/open311/v2", tags=["open311"])
CLOSED = {
    "replied",
    "closed",
    "not_accepted",
    "merged",
    "spam",
    "withdrawn",
    "followup",
    "supervision",
}
MAX_DAYS, MAX_REQUESTS = 90, 1000


def errors(status: int, description: str) -> Response:
    return json_response([{"code": status, "description": description}], status_code=status)


def services() -> list[dict[str, Any]]:
    return [
        {
            "service_code": kind,
            "service_name": label,
            "description": f"{label}（互动交流）",
            "metadata": kind == "correction",
            "type": "realtime",
            "keywords": kind,
            "group": "互动交流",
        }
        for kind, label in intake.KIND_LABELS.items()
    ]


@router.get("/discovery.json")
async def discovery(request: Request) -> Response:
    """Open311 discovery."""
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    return json_response(
        {
            "changeset": "2025-01-01T00:00:00Z",
            "contact": "互动交流平台",
            "key_service": "向网关申请 API key",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }
    )


@router.get("/services.json")
async def service_list() -> Response:
    """Service types: our case kinds."""
    return json_response(services())


@router.get("/services/{code}.json")
async def service_definition(code: str) -> Response:
    """Attribute definitions of a service."""
    if code not in intake.KIND_LABELS:
        return errors(404, "unknown service_code")
    attributes = []
    if code == "correction":
        attributes = [
            {
                "variable": True,
                "code": "page_url",
                "datatype": "string",
                "required": True,
                "datatype_description": "出错页面地址",
                "order": 1,
                "description": "出错页面地址",
            }
        ]
    return json_response({"service_code": code, "attributes": attributes})


def _iso(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone
    return aware.astimezone(SHANGHAI).isoformat()


async def _request_view(ctx: CtxDep, case: Case, public: Publication | None) -> dict[str, Any]:
    clock = await clocks.current_clock(ctx.session, case.id)
    expected = datetime.combine(clock.due_on, time(23, 59, 59), SHANGHAI) if clock else None
    return {
        "service_request_id": case.number,
        "status": "closed" if case.state in CLOSED else "open",
        "status_notes": STATE_LABELS.get(case.state, case.state),
        "service_name": intake.KIND_LABELS[case.kind],
        "service_code": case.kind,
        "description": public.body if public else "",
        "agency_responsible": case.lead_department or "",
        "service_notice": "",
        "requested_datetime": _iso(case.received_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": expected.isoformat() if expected else None,
        "address": case.address or "",
        "lat": case.lat,
        "long": case.long,
        "media_url": "",
    }


async def _views(ctx: CtxDep, cases: list[Case]) -> list[dict[str, Any]]:
    ids = [c.id for c in cases]
    query = select(Publication).where(
        Publication.case_id.in_(ids), Publication.status == "approved"
    )
    published = {p.case_id: p for p in (await ctx.session.execute(query)).scalars()} if ids else {}
    return [await _request_view(ctx, c, published.get(c.id)) for c in cases]


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/requests.json")
async def list_requests(
    ctx: CtxDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """Requests: by ids, or filtered (at most 90 days and 1,000 requests)."""
    query = select(Case).where(Case.state != "spam")
    if service_request_id:
        query = query.where(Case.number.in_(service_request_id.split(",")))
    else:
        try:
            end = _parse_date(end_date) or ctx.now()
            start = _parse_date(start_date) or end - timedelta(days=MAX_DAYS)
        except ValueError:
            return errors(400, "start_date/end_date must be w3 date-times")
        if end - start > timedelta(days=MAX_DAYS):
            return errors(400, "date range is limited to 90 days")
        query = query.where(Case.received_at >= start, Case.received_at <= end)
        if service_code:
            query = query.where(Case.kind == service_code)
    cases = list(
        (
            await ctx.session.execute(query.order_by(Case.received_at.desc()).limit(MAX_REQUESTS))
        ).scalars()
    )
    if status:
        wanted = set(status.split(","))
        cases = [c for c in cases if ("closed" if c.state in CLOSED else "open") in wanted]
    return json_response(await _views(ctx, cases))


@router.get("/requests/{number}.json")
async def get_request(number: str, ctx: CtxDep) -> Response:
    """One request by its id (our case number)."""
    case = (
        await ctx.session.execute(select(Case).where(Case.number == number))
    ).scalar_one_or_none()
    if case is None or case.state == "spam":
        return errors(404, "request not found")
    return json_response(await _views(ctx, [case]))


@router.get("/tokens/{token}.json")
async def token(token: str, ctx: CtxDep) -> Response:
    """The request id behind a token returned by POST."""
    case = await ctx.session.get(Case, token)
    if case is None:
        return errors(404, "token not found")
    return json_response([{"service_request_id": case.number, "token": token}])


@router.post("/requests.json")
async def create_request(request: Request, ctx: CtxDep, actor: OptionalActorDep) -> Response:
    """File a request (form-encoded) with an API key of scope `cases:submit`."""
    if actor is None or actor.kind != "api_key":
        return errors(403, "api_key is missing or invalid")
    if "cases:submit" not in actor.scopes:
        return errors(403, "api_key lacks the cases:submit scope")
    form = await request.form()
    code = str(form.get("service_code") or "")
    description = str(form.get("description") or "")
    if code not in intake.KIND_LABELS:
        return errors(400, "service_code is missing or unknown")
    if len(description) < 5:
        return errors(400, "description is required (at least 5 characters)")
    name = " ".join(str(form.get(k) or "") for k in ("last_name", "first_name")).strip()
    try:
        data = ApiCaseSubmission(
            kind=code,  # type: ignore[arg-type]
            title=description[:40],
            body=description,
            name=name or None,
            phone=str(form.get("phone")) if form.get("phone") else None,
            email=str(form.get("email")) if form.get("email") else None,
            page_url=str(form.get("attribute[page_url]"))
            if form.get("attribute[page_url]")
            else None,
            address=str(form.get("address_string")) if form.get("address_string") else None,
            lat=float(str(form["lat"])) if form.get("lat") else None,
            long=float(str(form["long"])) if form.get("long") else None,
            publicity="private",
        )
    except ValidationError as error:
        first = error.errors()[0]
        return errors(400, f"{'.'.join(map(str, first['loc'])) or 'request'}: {first['msg']}")
    except ValueError:
        return errors(400, "lat and long must be numbers")
    done = await intake.submit(ctx, data, ip=f"api_key:{actor.id}", source="open311")
    body = [
        {
            "service_request_id": done.case.number,
            "token": done.case.id,
            "service_notice": f"预计 {done.due.due_on.isoformat()} 前答复",
            "account_id": None,
        }
    ]
    return json_response(body, status_code=201)
