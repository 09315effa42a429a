"""Bytes of old government pages → text: GB18030 / GBK / GB2312, Big5 and UTF-8."""

from __future__ import annotations

import re

import charset_normalizer

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
# Supersets decode everything their subsets do (a page declaring gb2312 often uses GBK chars).
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "x-gbk": "gb18030",
             "big5": "big5hkscs", "big5-hkscs": "big5hkscs", "utf8": "utf-8"}  # fmt: skip
FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
# What an undeclared page that is not UTF-8 can be. GB18030 decodes almost any byte string,
# Big5 included (as gibberish), so trying codecs in turn cannot tell them apart; the detector
# judges which decoding reads as text. Only these two: on a short page an open-ended detector
# finds Korean or Cyrillic in Big5 bytes.
LEGACY_CHINESE = ["gb18030", "big5hkscs"]


def declared_charset(content_type: str | None, head: bytes) -> str | None:
    if content_type and "charset=" in content_type.lower():
        return content_type.lower().split("charset=")[1].split(";")[0].strip(" \"'")
    match = META_CHARSET.search(head[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def detect_legacy_chinese(data: bytes) -> str | None:
    """GB18030 or Big5-HKSCS for bytes that are neither declared nor UTF-8; None if neither
    decodes. A tie (a few characters that read as text either way) goes to GB18030, the
    mainland's encoding."""
    matches = list(charset_normalizer.from_bytes(data, cp_isolation=LEGACY_CHINESE))
    if not matches:
        return None
    least = min(match.chaos for match in matches)
    best = [match.encoding for match in matches if match.chaos == least]
    return "gb18030" if "gb18030" in best else best[0]


def decode(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, encoding used): the declared charset first, else UTF-8, else whichever of
    GB18030 and Big5 the bytes read as; then the remaining codecs in turn.

    Undecodable bytes in every candidate are replaced by U+FFFD (which cleaning then removes and
    records) rather than losing the page.
    """
    declared = declared_charset(content_type, data)
    candidates = []
    if declared:
        candidates.append(SUPERSETS.get(declared, declared))
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        if detected := detect_legacy_chinese(data):
            candidates.append(detected)
    candidates += [c for c in FALLBACKS if c not in candidates]
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(candidates[0] if declared else "utf-8", errors="replace"), "replace"
