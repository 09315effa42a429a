"""An Open311 GeoReport v2 layer (JSON) over our cases, so existing Open311 clients work.

Only published cases are shown (public rendition masked and approved by a second staff member),
and only what that publication shows; a private or unpublished case does not exist here.
Errors are Open311's `[{code, description}]`, not problem+json.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from common.identity import OptionalActorDep
from common.responses import json_response
from services.interaction.cases import intake
from services.interaction.cases.workflow import OUTCOMES
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


def _day(value: date) -> str:
    return datetime.combine(value, time(0), SHANGHAI).isoformat()


def _request_view(public: Publication) -> dict[str, Any]:
    """A request as its approved publication shows it, and nothing more: the masked text, the
    place at street level, coordinates to two decimals, dates to the day."""
    return {
        "service_request_id": public.number,
        "status": "closed",  # only replied cases are ever published
        "status_notes": OUTCOMES.get(public.outcome or "", "已答复"),
        "service_name": intake.KIND_LABELS.get(public.kind, public.kind),
        "service_code": public.kind,
        "description": public.body,
        "agency_responsible": public.department or "",
        "service_notice": "",
        "requested_datetime": _day(public.received_on),
        "updated_datetime": _iso(public.approved_at) if public.approved_at else None,
        "expected_datetime": None,
        "address": public.address or "",
        "lat": public.lat,
        "long": public.long,
        "media_url": "",
    }


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _published() -> Any:
    return select(Publication).where(Publication.status == "approved")


@router.get("/requests.json")
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
    query = _published()
    if service_request_id:
        query = query.where(Publication.number.in_(service_request_id.split(",")))
    else:
        try:
            end = _parse_date(end_date) or ctx.now()
            start = _parse_date(start_date) or end - timedelta(days=MAX_DAYS)
        except ValueError:
            return errors(400, "start_date/end_date must be w3 date-times")
        if end - start > timedelta(days=MAX_DAYS):
            return errors(400, "date range is limited to 90 days")
        query = query.where(
            Publication.received_on >= start.astimezone(SHANGHAI).date(),
            Publication.received_on <= end.astimezone(SHANGHAI).date(),
        )
        if service_code:
            query = query.where(Publication.kind == service_code)
    if status and "closed" not in status.split(","):
        return json_response([])
    query = query.order_by(Publication.received_on.desc(), Publication.number.desc())
    rows = (await ctx.session.execute(query.limit(MAX_REQUESTS))).scalars()
    return json_response([_request_view(p) for p in rows])


@router.get("/requests/{number}.json")
async def get_request(number: str, ctx: CtxDep) -> Response:
    """One published request by its id (our case number); any other case is not found."""
    query = _published().where(Publication.number == number)
    public = (await ctx.session.execute(query)).scalar_one_or_none()
    if public is None:
        return errors(404, "request not found")
    return json_response([_request_view(public)])


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
