"""Attachments: content-addressed by sha256, type sniffed from the bytes (never trusted from the
client), size-limited, executables refused."""

from __future__ import annotations

import io
import zipfile

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
