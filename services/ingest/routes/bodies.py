"""Turning request bytes into a validated submission (JSON or multipart with attachments)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from common.errors import PayloadTooLarge, Unprocessable
from common.identity import Actor
from services.ingest.attachments import RefusedType, sniff
from services.ingest.pipeline import Outcome, store_blob
from services.ingest.prepare import Incoming
from services.ingest.schemas import ContentSubmission, SubmissionAccepted
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


@dataclass
class ReadRequest:
    """A parsed submission; its attachments' bytes are not stored until `store_blobs`.

    Nothing is written while reading, so an `Idempotency-Key` can be claimed first."""

    submission: ContentSubmission
    raw: bytes
    media_type: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    blobs: list[tuple[bytes, str]] = field(default_factory=list)

    async def store_blobs(self, session: AsyncSession) -> None:
        for data, media_type in self.blobs:
            await store_blob(session, data, media_type)


async def read_attachments(
    files: list[UploadFile], settings: IngestSettings
) -> tuple[list[dict[str, Any]], list[tuple[bytes, str]]]:
    """(attachment records, (bytes, media type) to store): checked, sniffed, not yet stored."""
    if len(files) > settings.max_attachments:
        raise Unprocessable(
            f"more than {settings.max_attachments} attachments", field="attachments"
        )
    stored, blobs = [], []
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


async def read_request(request: Request, settings: IngestSettings) -> ReadRequest:
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
        return ReadRequest(submission, raw, "application/json", attachments, blobs)
    raw = await request.body()
    return ReadRequest(parse_submission(raw), raw, "application/json")


def incoming_from(
    submission: ContentSubmission,
    actor: Actor,
    channel: str,
    raw: bytes,
    media_type: str,
    attachments: list[dict[str, Any]],
    source_name: str = "",
) -> Incoming:
    return Incoming(
        title=submission.title,
        kind=submission.kind,
        site=submission.site,
        columns=list(submission.columns),
        publisher=submission.publisher,
        channel=channel,
        actor=actor.id,
        body_html=submission.body_html,
        body_text=submission.body_text,
        doc_number=submission.doc_number,
        disclosure=submission.disclosure,
        urgent=submission.urgent,
        published_at=submission.published_at,
        source_name=submission.reprint_source or source_name,
        url=submission.reprint_url,
        external_id=submission.external_id,
        raw=raw,
        raw_media_type=media_type,
        is_reprint=submission.is_reprint,
        reprint_of=submission.reprint_of,
        attachments=attachments,
    )


def accepted(outcome: Outcome) -> tuple[int, dict[str, Any]]:
    """202 for a new item; 200 with the existing item's id for a document already in the library."""
    item = outcome.item
    body = SubmissionAccepted(
        id=item.id,
        version=item.version,
        status=item.status,
        content_hash=item.content_hash,
        outcome=outcome.outcome,
        related_to=outcome.related_to,
    ).model_dump()
    return (200 if outcome.outcome == "merged" else 202), body
