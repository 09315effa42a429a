"""`/api/v1/attachments/{sha256}`: attachment bytes with the sniffed type.

Stored bytes are served so that they cannot run in the gateway's origin (stored XSS against
staff): only types a browser shows without executing anything (raster images — not SVG —, PDF,
plain text) are `inline`; everything else (HTML first of all) is a download
(`Content-Disposition: attachment`). Every file answer carries `nosniff` and a CSP that allows
nothing and sandboxes the document, in case a browser renders it anyway."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from common.db import SessionDep
from common.identity import vouched
from services.ingest import attachments

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


FILE_ANSWER: dict[int | str, dict[str, object]] = {
    200: {"description": "the stored bytes", "content": {"application/octet-stream": {}}}
}


@router.get(
    "/{sha256}",
    response_class=Response,
    response_model=None,
    responses={
        **FILE_ANSWER,
        304: {"description": "not modified (If-None-Match)"},
        410: {"description": "the item carrying it was retracted"},
    },
)
async def get_attachment(sha256: str, request: Request, session: SessionDep) -> Response:
    """An attachment: public once an item carrying it is published, staff-only before; 410
    Gone to the public once the item is retracted."""
    blob, filename = await attachments.readable(session, sha256, lambda: vouched(request).actor)
    headers = {
        **file_headers(blob.media_type, filename),
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, max-age=86400, immutable",
    }
    if request.headers.get("if-none-match") == f'"{sha256}"':
        return Response(status_code=304, headers=headers)
    return Response(blob.data, media_type=blob.media_type, headers=headers)
