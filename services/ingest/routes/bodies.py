"""Turning request bytes into a validated submission (JSON or multipart with attachments)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from common.errors import PayloadTooLarge, Unprocessable
from services.ingest.attachments import RefusedType, sniff
from services.ingest.intake import ReadSubmission
from services.ingest.schemas import ContentSubmission
from services.ingest.settings import IngestSettings


def decode_utf8(raw: bytes, field: str = "body") -> str:
    """UTF-8 text of a body; undecodable bytes are a 422 saying where."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unprocessable(
            f"undecodable bytes: not UTF-8 at byte {error.start} "
            f"({raw[error.start : error.start + 4]!r})",
            field=field,
        ) from error


def parse_submission(raw: bytes, location: tuple[str, ...] = ("body",)) -> ContentSubmission:
    """Validate JSON bytes; errors carry `body.<field>` like FastAPI's own validation."""
    decode_utf8(raw, ".".join(location))
    try:
        return ContentSubmission.model_validate_json(raw)
    except ValidationError as error:
        errors: list[dict[str, Any]] = []
        for e in error.errors():
            errors.append({**e, "loc": (*location, *e["loc"])})
        raise RequestValidationError(errors) from error


async def read_attachments(
    files: list[UploadFile], settings: IngestSettings
) -> tuple[list[dict[str, Any]], list[tuple[bytes, str]]]:
    """(attachment records, (bytes, media type) to store): checked, sniffed, not yet stored."""
    if len(files) > settings.max_attachments:
        raise Unprocessable(
            f"more than {settings.max_attachments} attachments", field="attachments"
        )
    stored: list[dict[str, Any]] = []
    blobs: list[tuple[bytes, str]] = []
    for i, upload in enumerate(files):
        data = await upload.read()
        field_name = f"attachments[{i}]"
        if len(data) > settings.max_attachment_bytes:
            raise PayloadTooLarge(
                f"{upload.filename}: larger than {settings.max_attachment_bytes} bytes",
                field=field_name,
            )
        if not data:
            raise Unprocessable(f"{upload.filename}: empty file", field=field_name)
        try:
            media_type = sniff(data)
        except RefusedType as error:
            raise Unprocessable(f"{upload.filename}: {error}", field=field_name) from error
        digest = hashlib.sha256(data).hexdigest()
        blobs.append((data, media_type))
        stored.append(
            {"sha256": digest, "filename": upload.filename or digest, "media_type": media_type,
             "size": len(data)}
        )  # fmt: skip
    return stored, blobs


async def read_request(request: Request, settings: IngestSettings) -> ReadSubmission:
    """The submission from JSON or multipart (raw media type, attachments); writes nothing."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=settings.max_attachments + 1, max_fields=20)
        part = form.get("submission")
        if part is None:
            raise Unprocessable("multipart needs a `submission` JSON part", field="submission")
        raw = await part.read() if isinstance(part, UploadFile) else part.encode()
        submission = parse_submission(raw, ("submission",))
        files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile)]
        attachments, blobs = await read_attachments(files, settings)
        return ReadSubmission(submission, raw, "application/json", attachments, blobs)
    raw = await request.body()
    return ReadSubmission(parse_submission(raw), raw, "application/json")
