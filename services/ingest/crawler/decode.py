"""Bytes of old government pages → text: GB18030 / GBK / GB2312, Big5 and UTF-8."""

from __future__ import annotations

import re

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
# Supersets decode everything their subsets do (a page declaring gb2312 often uses GBK chars).
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "x-gbk": "gb18030",
             "big5": "big5hkscs", "big5-hkscs": "big5hkscs", "utf8": "utf-8"}  # fmt: skip
FALLBACKS = ("utf-8", "gb18030", "big5hkscs")


def declared_charset(content_type: str | None, head: bytes) -> str | None:
    if content_type and "charset=" in content_type.lower():
        return content_type.lower().split("charset=")[1].split(";")[0].strip(" \"'")
    match = META_CHARSET.search(head[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def decode(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, encoding used): the declared charset first, then UTF-8, GB18030, Big5.

    Undecodable bytes in every candidate are replaced by U+FFFD (which cleaning then removes and
    records) rather than losing the page.
    """
    declared = declared_charset(content_type, data)
    candidates = []
    if declared:
        candidates.append(SUPERSETS.get(declared, declared))
    candidates += [c for c in FALLBACKS if c not in candidates]
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(candidates[0] if declared else "utf-8", errors="replace"), "replace"
