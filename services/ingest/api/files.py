"""`/api/v1/attachments/{sha256}`: attachment bytes with the sniffed type."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from common.db import SessionDep
from common.errors import NotFound
from common.identity import required_actor
from services.ingest.models import Blob, ContentAttachment, ContentItem

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])


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
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, max-age=86400, immutable",
    }
    if request.headers.get("if-none-match") == f'"{sha256}"':
        return Response(status_code=304, headers=headers)
    return Response(blob.data, media_type=blob.media_type, headers=headers)
