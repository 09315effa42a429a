"""An Open311 GeoReport v2 layer (JSON) over our cases, so existing Open311 clients work.

Only published cases are shown (public rendition masked and approved by a second staff member),
and only what that publication shows; a private or unpublished case does not exist here.
Errors are Open311's `[{code, description}]`, not problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from common.identity import Actor
from services.interaction.cases import intake
from services.interaction.cases.workflow import OUTCOMES
from services.interaction.clock import SHANGHAI
from services.interaction.context import Ctx
from services.interaction.models import Case, Publication
from services.interaction.schemas import ApiCaseSubmission

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


class Open311Error(Exception):
    """An Open311 error: the route answers `[{code, description}]` with `status`."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


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


def _published() -> SelectOfScalar[Publication]:
    return select(Publication).where(col(Publication.status) == "approved")


def discovery(base_url: str) -> dict[str, Any]:
    """Open311 discovery: where the endpoints are (`base_url` is the service's own)."""
    return {
        "changeset": "2025-01-01T00:00:00Z",
        "contact": "互动交流平台",
        "key_service": "向网关申请 API key",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base_url.rstrip("/") + "/open311/v2/",
                "type": "production",
                "formats": ["application/json"],
            }
        ],
    }


def service_definition(code: str) -> dict[str, Any]:
    """Attribute definitions of a service."""
    if code not in intake.KIND_LABELS:
        raise Open311Error(404, "unknown service_code")
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
    return {"service_code": code, "attributes": attributes}


async def list_requests(
    ctx: Ctx,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
) -> list[dict[str, Any]]:
    """Published requests: by ids, or filtered (at most 90 days and 1,000 requests).

    A case that is private, or whose public rendition is not approved yet, is not listed at all.
    """
    query = _published()
    if service_request_id:
        query = query.where(col(Publication.number).in_(service_request_id.split(",")))
    else:
        try:
            end = _parse_date(end_date) or ctx.now()
            start = _parse_date(start_date) or end - timedelta(days=MAX_DAYS)
        except ValueError as error:
            raise Open311Error(400, "start_date/end_date must be w3 date-times") from error
        if end - start > timedelta(days=MAX_DAYS):
            raise Open311Error(400, "date range is limited to 90 days")
        query = query.where(
            col(Publication.received_on) >= start.astimezone(SHANGHAI).date(),
            col(Publication.received_on) <= end.astimezone(SHANGHAI).date(),
        )
        if service_code:
            query = query.where(col(Publication.kind) == service_code)
    if status and "closed" not in status.split(","):
        return []
    query = query.order_by(col(Publication.received_on).desc(), col(Publication.number).desc())
    rows = (await ctx.session.exec(query.limit(MAX_REQUESTS))).all()
    return [_request_view(p) for p in rows]


async def get_request(ctx: Ctx, number: str) -> list[dict[str, Any]]:
    """One published request by its id (our case number); any other case is not found."""
    query = _published().where(col(Publication.number) == number)
    public = (await ctx.session.exec(query)).one_or_none()
    if public is None:
        raise Open311Error(404, "request not found")
    return [_request_view(public)]


async def token(ctx: Ctx, token: str) -> list[dict[str, Any]]:
    """The request id behind a token returned by POST."""
    case = await ctx.session.get(Case, token)
    if case is None:
        raise Open311Error(404, "token not found")
    return [{"service_request_id": case.number, "token": token}]


def require_submitter(actor: Actor | None) -> Actor:
    """Filing needs an API key of scope `cases:submit`."""
    if actor is None or actor.kind != "api_key":
        raise Open311Error(403, "api_key is missing or invalid")
    if "cases:submit" not in actor.scopes:
        raise Open311Error(403, "api_key lacks the cases:submit scope")
    return actor


def _field(form: Mapping[str, Any], key: str) -> str | None:
    value = form.get(key)
    return str(value) if value else None


async def create_request(ctx: Ctx, actor: Actor, form: Mapping[str, Any]) -> list[dict[str, Any]]:
    """File a request from its form fields; the API key stands behind it."""
    code = str(form.get("service_code") or "")
    description = str(form.get("description") or "")
    if code not in intake.KIND_LABELS:
        raise Open311Error(400, "service_code is missing or unknown")
    if len(description) < 5:
        raise Open311Error(400, "description is required (at least 5 characters)")
    name = " ".join(str(form.get(k) or "") for k in ("last_name", "first_name")).strip()
    try:
        data = ApiCaseSubmission.model_validate(
            {
                "kind": code,
                "title": description[:40],
                "body": description,
                "name": name or None,
                "phone": _field(form, "phone"),
                "email": _field(form, "email"),
                "page_url": _field(form, "attribute[page_url]"),
                "address": _field(form, "address_string"),
                "lat": float(str(form["lat"])) if form.get("lat") else None,
                "long": float(str(form["long"])) if form.get("long") else None,
                "publicity": "private",
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "request"
        raise Open311Error(400, f"{where}: {first['msg']}") from error
    except ValueError as error:
        raise Open311Error(400, "lat and long must be numbers") from error
    done = await intake.submit(ctx, data, ip=f"api_key:{actor.id}", source="open311")
    return [
        {
            "service_request_id": done.case.number,
            "token": done.case.id,
            "service_notice": f"预计 {done.due.due_on.isoformat()} 前答复",
            "account_id": None,
        }
    ]
