"""`/api/v1/attachments/{sha256}`: attachment bytes with the sniffed type.

Stored bytes are served so that they cannot run in the gateway's origin (stored XSS against
staff): only types a browser shows without executing anything (raster images — not SVG —, PDF,
plain text) are `inline`; everything else (HTML first of all) is a download
(`Content-Disposition: attachment`). Every file answer carries `nosniff` and a CSP that allows
nothing and sandboxes the document, in case a browser renders it anyway."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from common.db import SessionDep
from common.errors import NotFound
from common.identity import required_actor
from services.ingest.models import Blob, ContentAttachment, ContentItem

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])

INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)
FILE_CSP = "default-src 'none'; sandbox"


def file_headers(media_type: str, filename: str) -> dict[str, str]:
    """Content-Disposition (inline only for the safe types), nosniff and the sandboxing CSP."""
    base = media_type.split(";", 1)[0].strip().lower()
    disposition = "inline" if base in INLINE_TYPES else "attachment"
    return {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    }


def file_response(data: bytes, media_type: str, filename: str) -> Response:
    """Stored bytes as a file answer (see the module docstring)."""
    return Response(data, media_type=media_type, headers=file_headers(media_type, filename))


@router.get("/{sha256}")
async def get_attachment(sha256: str, request: Request, session: SessionDep) -> Response:
    """An attachment: public once an item carrying it is published, staff-only before."""
    rows = await session.execute(
        select(ContentAttachment.filename, ContentItem.status, ContentItem.site)
        .join(ContentItem, ContentItem.id == ContentAttachment.content_id)
        .where(ContentAttachment.sha256 == sha256)
    )
    uses = rows.all()
    blob = await session.get(Blob, sha256) if uses else None
    if blob is None:
        raise NotFound("no such attachment", field="sha256")
    if not any(status == "published" for _, status, _ in uses):
        actor = required_actor(request)
        if not any(actor.may_use_site(site) for _, _, site in uses):
            raise NotFound("no such attachment", field="sha256")
    filename = uses[0][0]
    headers = {
        **file_headers(blob.media_type, filename),
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, max-age=86400, immutable",
    }
    if request.headers.get("if-none-match") == f'"{sha256}"':
        return Response(status_code=304, headers=headers)
    return Response(blob.data, media_type=blob.media_type, headers=headers)
