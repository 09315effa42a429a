"""Personal data in text: detectors that return spans over the original string, and masking.

Pure functions, no I/O. One module for every service, so review (which blocks an item carrying
personal data) and interaction (which masks a case before it is published) agree on what
personal data is and how it is shown.

Detectors (each returns `Span(start, end, kind)`, end exclusive, Python str indices):

- `id_number`: 18-character resident ID numbers (GB 11643 check character, birth date valid)
  and 15-digit legacy ones (birth date valid);
- `bank_card`: 16–19 digits passing Luhn, single spaces or hyphens between groups allowed;
- `mobile`: `1[3-9]` + 9 digits, optional `+86`, `139-1234-5678` / `139 1234 5678` forms;
- `landline`: 区号-号码 forms (`028-86612345`, `(0755)12345678`, `010 8888 6666`, an
  extension `-801` included);
- `email`;
- `name` / `address`: the submitter's own values (given), wherever they recur; for an address
  also its house-level part (`12号3栋501`) when that recurs alone.

Digit runs are matched whole: a number inside a longer run of digits (an order number) is none
of these. Where detectors overlap, the earlier kind in `KINDS` wins (an ID number that also
passes Luhn is an ID number, a card's digits are never also a mobile).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple

KINDS = ("id_number", "bank_card", "email", "mobile", "landline", "address", "name")
DIGIT_KINDS = ("id_number", "bank_card", "mobile", "landline")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_ID18 = re.compile(r"(?<!\d)[1-9]\d{16}[\dXx](?![\dXx])")
_ID15 = re.compile(r"(?<!\d)[1-9]\d{14}(?!\d)")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){15,18}(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_AREA = r"0(?:10|2\d|[3-9]\d{2})"
_LANDLINE = re.compile(
    rf"(?<!\d)(?:\({_AREA}\)|（{_AREA}）|{_AREA})[ -]?(?:\d{{7,8}}|\d{{3,4}}[ -]\d{{4}})"
    r"(?:-\d{1,5})?(?!\d)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Where an address stops being district/street level: the first digit, or a house-level word.
_HOUSE = re.compile(r"[0-9０-９]|[号栋幢单元室楼]")
_CHINESE_NUMERAL_TAIL = re.compile(r"[一二三四五六七八九十百千零〇两甲乙丙丁]+$")


class Span(NamedTuple):
    """One occurrence of personal data: `text[start:end]` is of `kind`."""

    start: int
    end: int
    kind: str


def id_checksum_ok(number: str) -> bool:
    """GB 11643-1999 check character of an 18-character resident ID number."""
    body = number[:17]
    if len(number) != 18 or not body.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _valid_birth(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1880, 1, 1) <= born <= date.today()


def id_number_ok(value: str) -> bool:
    """An 18-character ID with a valid check character and birth date, or a 15-digit legacy ID."""
    if len(value) == 18:
        birth = value[6:14]
        return id_checksum_ok(value) and _valid_birth(
            int(birth[:4]), int(birth[4:6]), int(birth[6:])
        )
    if len(value) == 15 and value.isdigit():
        return _valid_birth(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return False


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def find_id_numbers(text: str) -> list[Span]:
    found = [Span(*m.span(), "id_number") for m in _ID18.finditer(text) if id_number_ok(m[0])]
    found += [Span(*m.span(), "id_number") for m in _ID15.finditer(text) if id_number_ok(m[0])]
    return sorted(found)


def find_bank_cards(text: str) -> list[Span]:
    return [
        Span(*m.span(), "bank_card")
        for m in _CARD.finditer(text)
        if 16 <= len(_digits(m[0])) <= 19 and luhn_ok(_digits(m[0]))
    ]


def find_mobiles(text: str) -> list[Span]:
    return [Span(*m.span(), "mobile") for m in _MOBILE.finditer(text)]


def find_landlines(text: str) -> list[Span]:
    return [Span(*m.span(), "landline") for m in _LANDLINE.finditer(text)]


def find_emails(text: str) -> list[Span]:
    return [Span(*m.span(), "email") for m in _EMAIL.finditer(text)]


def coarse_address(address: str) -> str:
    """The district/street-level part of an address: everything before the house number."""
    cut = _HOUSE.search(address)
    head = address[: cut.start()] if cut else address
    return _CHINESE_NUMERAL_TAIL.sub("", head).rstrip(" ,，、-")


def _occurrences(text: str, value: str, kind: str) -> list[Span]:
    spans, start = [], text.find(value)
    while start >= 0:
        spans.append(Span(start, start + len(value), kind))
        start = text.find(value, start + len(value))
    return spans


def find_known(
    text: str, names: Iterable[str | None] = (), addresses: Iterable[str | None] = ()
) -> list[Span]:
    """Every occurrence of the submitter's own name or address (and its house-level part)."""
    found: list[Span] = []
    for address in {a.strip() for a in addresses if a and len(a.strip()) >= 2}:
        found += _occurrences(text, address, "address")
        detail = address[len(coarse_address(address)) :].strip()
        if len(detail) >= 3 and detail != address:
            found += _occurrences(text, detail, "address")
    for name in {n.strip() for n in names if n and len(n.strip()) >= 2}:
        found += _occurrences(text, name, "name")
    return sorted(found)


_DETECTORS = {
    "id_number": find_id_numbers,
    "bank_card": find_bank_cards,
    "email": find_emails,
    "mobile": find_mobiles,
    "landline": find_landlines,
}


def find_personal_data(
    text: str,
    *,
    names: Iterable[str | None] = (),
    addresses: Iterable[str | None] = (),
    kinds: Sequence[str] = KINDS,
) -> list[Span]:
    """Every occurrence of the `kinds` asked for, without overlaps (earlier kind wins), sorted."""
    candidates: list[Span] = []
    for kind in KINDS:
        if kind in kinds and kind in _DETECTORS:
            candidates += _DETECTORS[kind](text)
    known = find_known(text, names, addresses)
    candidates += [s for s in known if s.kind in kinds]
    order = {kind: i for i, kind in enumerate(KINDS)}
    # Earlier kind first, then the longer span (a full address before its house-level part).
    candidates.sort(key=lambda s: (order[s.kind], s.start - s.end, s.start))
    chosen: list[Span] = []
    for span in candidates:
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen)


def mask_value(value: str, kind: str) -> str:
    """The masked form of one occurrence: 张** / 138****5678 / 110***********1234 / …"""
    if kind == "id_number":
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if kind == "bank_card":
        digits = _digits(value)
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
    if kind == "mobile":
        digits = _digits(value)[-11:]
        return digits[:3] + "****" + digits[-4:]
    if kind == "landline":
        return _mask_landline(value)
    if kind == "email":
        local, domain = value.split("@", 1)
        return local[0] + "***@" + domain
    if kind == "name":
        return value[0] + "**"
    if kind == "address":
        return coarse_address(value) + "**"
    return "**"


def _mask_landline(value: str) -> str:
    main = re.match(rf"[(（]?{_AREA}[)）]?[ -]?(?:\d{{7,8}}|\d{{3,4}}[ -]\d{{4}})", value)
    digits = _digits(main[0] if main else value)  # an extension is dropped
    # Area codes 010 and 020–029 have three digits, every other area code four.
    split = 3 if digits[1] in "12" else 4
    area, number = digits[:split], digits[split:]
    return f"{area}-" + "*" * (len(number) - 4) + number[-4:]


def mask(text: str, spans: Iterable[Span]) -> str:
    """`text` with each (non-overlapping) span replaced by its masked form."""
    parts, cursor = [], 0
    for span in sorted(spans):
        if span.start < cursor:
            continue  # overlapping spans: the first one masks the shared characters
        parts += [text[cursor : span.start], mask_value(text[span.start : span.end], span.kind)]
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def mask_all(
    text: str, *, names: Iterable[str | None] = (), addresses: Iterable[str | None] = ()
) -> str:
    """Every kind of personal data in `text` masked."""
    return mask(text, find_personal_data(text, names=names, addresses=addresses))
