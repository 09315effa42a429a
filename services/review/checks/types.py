"""What every check returns: findings at exact spans of one field of the item."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["block", "warn", "info"]
FieldName = Literal["title", "body_text", "body_html", "meta"]


@dataclass(frozen=True)
class Finding:
    """One problem: `start`/`end` index characters of `field` (end exclusive, Python str indices).

    `text` is exactly `field_value[start:end]`; `meta` findings (missing metadata, dates) have an
    empty span and name the metadata field in `text`.
    """

    rule: str
    category: str
    severity: Severity
    start: int
    end: int
    text: str
    suggestion: str | None = None
    field: FieldName = "body_text"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
