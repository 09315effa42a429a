"""Masking personal data in text that will be published. Every occurrence, not just the first.

Pure functions over `common.personal_data` (the one definition of personal data, shared with
review): mobiles (`138****5678`), resident ID numbers (`110***********002X`), bank cards by Luhn
(first 6 + last 4 kept), e-mail addresses, landlines, and — when given — the citizen's own name
(`张**`) and address (district/street kept, the house-level part masked). Numbers that fail their
checksum are left alone: an order number is not personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from common.personal_data import find_personal_data, mask_value


@dataclass(frozen=True, slots=True)
class Masked:
    """One masked occurrence at its offset in the original text."""

    kind: str
    start: int
    length: int
    masked: str
    original_sha256: str


def mask(
    text: str, names: Iterable[str | None] = (), addresses: Iterable[str | None] = ()
) -> tuple[str, list[Masked]]:
    """The text with every occurrence masked, and the log of what was masked where."""
    parts, log, cursor = [], [], 0
    for span in find_personal_data(text, names=names, addresses=addresses):
        original = text[span.start : span.end]
        replacement = mask_value(original, span.kind)
        parts += [text[cursor : span.start], replacement]
        digest = hashlib.sha256(original.encode()).hexdigest()
        log.append(Masked(span.kind, span.start, span.end - span.start, replacement, digest))
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts), log


def mask_text(
    text: str, names: Iterable[str | None] = (), addresses: Iterable[str | None] = ()
) -> str:
    return mask(text, names, addresses)[0]
