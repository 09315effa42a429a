"""Masking personal data in text that will be published. Every occurrence, not just the first.

Pure functions. Kinds: mobile numbers (`138****5678`), 18-digit resident ID numbers that pass the
GB 11643 checksum, bank cards that pass Luhn (first 6 + last 4 kept), e-mail addresses, landlines.
Numbers that fail their checksum are left alone: an order number is not personal data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

# Digits glued to letters or other digits are part of something else (an order id, a URL path).
_EDGE_L, _EDGE_R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
ID_NUMBER = re.compile(_EDGE_L + r"\d{17}[\dXx]" + _EDGE_R)
CARD = re.compile(_EDGE_L + r"(?:\d[ -]?){15,18}\d" + _EDGE_R)
MOBILE = re.compile(r"(?<![\d-])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![\d-])")
LANDLINE = re.compile(r"(?<![\d-])(?:\(?0\d{2,3}\)?[ -]?)\d{7,8}(?:-\d{1,5})?(?![\d-])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Masked:
    """One masked occurrence at its offset in the original text."""

    kind: str
    start: int
    length: int
    masked: str
    original_sha256: str


def valid_id_number(value: str) -> bool:
    body, check = value[:17], value[17].upper()
    if not body.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == check


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_id(value: str) -> str:
    return value[:3] + "*" * 11 + value[-4:]


def _mask_card(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def _mask_mobile(value: str) -> str:
    digits = re.sub(r"\D", "", value)[-11:]
    return digits[:3] + "****" + digits[-4:]


def _mask_landline(value: str) -> str:
    main = re.match(r"\(?0\d{2,3}\)?[ -]?\d{7,8}", value)
    digits = re.sub(r"\D", "", main.group() if main else value)  # an extension is dropped
    # Area codes 010 and 020–029 have three digits, every other area code four.
    split = 3 if digits[1] in "12" else 4
    area, number = digits[:split], digits[split:]
    return f"{area}-" + "*" * (len(number) - 4) + number[-4:]


def _mask_email(value: str) -> str:
    local, domain = value.split("@", 1)
    return local[0] + "***@" + domain


def _candidates(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, replacement), in priority order: ID, card, e-mail, mobile, landline."""
    found: list[tuple[int, int, str, str]] = []
    for match in ID_NUMBER.finditer(text):
        if valid_id_number(match.group()):
            found.append((match.start(), match.end(), "id_number", _mask_id(match.group())))
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 16 <= len(digits) <= 19 and luhn_valid(digits):
            found.append((match.start(), match.end(), "bank_card", _mask_card(match.group())))
    for match in EMAIL.finditer(text):
        found.append((match.start(), match.end(), "email", _mask_email(match.group())))
    for match in MOBILE.finditer(text):
        found.append((match.start(), match.end(), "mobile", _mask_mobile(match.group())))
    for match in LANDLINE.finditer(text):
        found.append((match.start(), match.end(), "landline", _mask_landline(match.group())))
    return found


def mask(text: str) -> tuple[str, list[Masked]]:
    """The text with every occurrence masked, and the log of what was masked where."""
    chosen: list[tuple[int, int, str, str]] = []
    for start, end, kind, replacement in _candidates(text):
        if all(end <= s or start >= e for s, e, _, _ in chosen):
            chosen.append((start, end, kind, replacement))
    chosen.sort()
    parts, log, cursor = [], [], 0
    for start, end, kind, replacement in chosen:
        parts.append(text[cursor:start])
        parts.append(replacement)
        original = text[start:end]
        digest = hashlib.sha256(original.encode()).hexdigest()
        log.append(Masked(kind, start, end - start, replacement, digest))
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts), log


def mask_text(text: str) -> str:
    return mask(text)[0]
