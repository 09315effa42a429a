"""A typed error hierarchy rendered once as RFC 9457 problem+json.

Every refusal names the field and the reason in `errors: [{field, reason}]`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.responses import dumps

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """Base of every error a client may see; `code` is stable, `detail` is for people."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or ([{"field": field, "reason": detail}] if field else [])
        self.headers = headers or {}


class BadRequest(ProblemError):
    pass


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(ProblemError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(ProblemError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ProblemError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ProblemError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class Unprocessable(ProblemError):
    status, code, title = 422, "validation_failed", "Validation failed"


class TooManyRequests(ProblemError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, code, title = 503, "unavailable", "Service unavailable"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]],
    instance: str,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "type": f"https://kitchen.gov.cn/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        "errors": errors,
    }
    return Response(dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def internal_error_response(request_id: str, instance: str) -> Response:
    """The answer to an error no handler expected: status 500, the request id, nothing more.

    The exception itself goes to the log under the same request id, never to the client.
    """
    body = {
        "type": "https://kitchen.gov.cn/problems/internal_error",
        "title": "Internal server error",
        "status": 500,
        "detail": f"an unexpected error occurred; quote request id {request_id} when reporting it",
        "code": "internal_error",
        "instance": instance,
        "errors": [],
        "request_id": request_id,
    }
    return Response(dumps(body), status_code=500, media_type=PROBLEM_JSON)


def _field_name(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def validation_errors(exc: RequestValidationError) -> tuple[int, str, list[dict[str, str]]]:
    """Malformed JSON is a 400; anything else that fails validation is a 422."""
    errors = [{"field": _field_name(e["loc"]), "reason": e["msg"]} for e in exc.errors()]
    if any(e["type"] == "json_invalid" for e in exc.errors()):
        return 400, "malformed JSON body", errors
    return 422, "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return problem_response(
            exc.status, exc.code, exc.title, exc.detail, exc.errors, request.url.path, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        status, detail, errors = validation_errors(exc)
        code = "malformed_json" if status == 400 else "validation_failed"
        title = "Malformed request" if status == 400 else "Validation failed"
        return problem_response(status, code, title, detail, errors, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(
            exc.status_code,
            code,
            str(exc.detail),
            str(exc.detail),
            [],
            request.url.path,
            getattr(exc, "headers", None),
        )


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413 before any handler reads them (chunked too)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        messages, total = [], 0
        while True:
            message = await receive()
            messages.append(message)
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> dict[str, Any]:
            message: dict[str, Any] = messages.pop(0) if messages else await receive()
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        response = problem_response(
            413,
            "payload_too_large",
            "Payload too large",
            f"body exceeds {self.max_bytes} bytes",
            [{"field": "body", "reason": f"larger than {self.max_bytes} bytes"}],
            scope["path"],
        )
        await response(scope, receive, send)
