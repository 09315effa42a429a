"""Attachments: content-addressed by sha256, type sniffed from the bytes (never trusted from the
client), size-limited, executables refused; readable by anyone once an item carrying them is
published, by staff of the item's site before."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import NoReturn

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound, ProblemError, Unauthorized
from common.identity import Actor
from services.ingest.models import Blob, ContentAttachment, ContentItem
from services.ingest.retraction import RETRACTED

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),  # OLE: .doc / .xls / .wps
    (b"{\\rtf", "application/rtf"),
)
REFUSED = ((b"MZ", "a Windows executable"), (b"\x7fELF", "an ELF executable"))
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


class Gone(ProblemError):
    status, code, title = 410, "gone", "Retracted"


class RefusedType(ValueError):
    """The bytes are of a kind the library does not accept."""


def sniff(data: bytes) -> str:
    """The media type of `data` from its leading bytes; unknown binary is octet-stream."""
    for magic, what in REFUSED:
        if data.startswith(magic):
            raise RefusedType(f"{what} is not accepted as an attachment")
    for magic, media_type in SIGNATURES:
        if data.startswith(magic):
            return media_type
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if b"\x00" not in data[:4096]:
        head = data[:2048].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            return "text/html; charset=utf-8" if _utf8(data) else "text/html"
        return "text/plain; charset=utf-8" if _utf8(data) else "application/octet-stream"
    return "application/octet-stream"


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _zip_kind(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return "application/zip"
    for prefix, media_type in OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return media_type
    return "application/zip"


async def readable(
    session: AsyncSession, sha256: str, caller: Callable[[], Actor | None]
) -> tuple[Blob, str]:
    """(bytes, file name) of an attachment: public once an item carrying it is published, else
    only for a caller (`caller()`, None when anonymous) on one of those items' sites. Anyone
    else gets 410 Gone while a retracted item carries it, else 401 (anonymous) or "no such
    attachment"."""
    rows = await session.exec(
        select(ContentAttachment.filename, ContentItem.status, ContentItem.site)
        .join(ContentItem, col(ContentItem.id) == col(ContentAttachment.content_id))
        .where(col(ContentAttachment.sha256) == sha256)
    )
    uses = list(rows)
    blob = await session.get(Blob, sha256) if uses else None
    if blob is None:
        raise NotFound("no such attachment", field="sha256")
    if not any(status == "published" for _, status, _ in uses):
        actor = caller()
        if actor is None or not any(actor.may_use_site(site) for _, _, site in uses):
            _refuse(uses, actor)
    return blob, uses[0][0]


def _refuse(uses: list[tuple[str, str, str]], actor: Actor | None) -> NoReturn:
    """Not for this caller: 410 to anyone while a retracted item carries it (it was public and
    was taken down), else 401 to an anonymous caller and "no such attachment" to staff."""
    if any(status == RETRACTED for _, status, _ in uses):
        raise Gone("the item carrying this attachment was retracted", field="sha256")
    if actor is None:
        raise Unauthorized("authentication required")
    raise NotFound("no such attachment", field="sha256")
