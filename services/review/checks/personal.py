"""Personal data (DOMAIN §2, §5): ID numbers by checksum, mobiles, bank cards by Luhn, e-mail.

Every occurrence is reported. Digit runs are matched whole (not inside longer numbers) so that
a bank card is not also reported as a mobile number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from services.review.checks.types import Finding

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){15,18}\d(?![\d-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def id_checksum_ok(number: str) -> bool:
    """GB 11643-1999 check character of an 18-character resident ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find_personal_data(text: str, field: str = "body_text") -> list[Finding]:
    return sorted(_all(text, field), key=lambda f: (f.start, f.rule))


def _all(text: str, field: str) -> Iterator[Finding]:
    taken: list[tuple[int, int]] = []
    for m in _ID_NUMBER.finditer(text):
        if id_checksum_ok(m.group()):
            taken.append(m.span())
            yield _finding("personal.id_number", "block", m, field)
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 16 <= len(digits) <= 19 and luhn_ok(digits) and not _overlaps(m.span(), taken):
            taken.append(m.span())
            yield _finding("personal.bank_card", "block", m, field)
    for m in _MOBILE.finditer(text):
        if not _overlaps(m.span(), taken):
            yield _finding("personal.mobile", "warn", m, field)
    for m in _EMAIL.finditer(text):
        yield _finding("personal.email", "warn", m, field)


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _finding(rule: str, severity: str, m: re.Match[str], field: str) -> Finding:
    return Finding(rule, "personal_data", severity, m.start(), m.end(), m.group(), None, field)  # type: ignore[arg-type]
