"""Personal data (DOMAIN §2, §5): what `common.personal_data` detects, as review findings.

Every occurrence is reported at its exact span. ID numbers, bank cards and mobiles block; so do
e-mail addresses, except official mailboxes under `gov.cn`, which only warn. Landlines are not
reported: an office's published telephone number is not personal data. A personal-data finding
cannot be overridden (`decisions.py`): the hub publishes what was approved, verbatim.
"""

from __future__ import annotations

from common.personal_data import find_personal_data as detect
from common.personal_data import id_checksum_ok, luhn_ok
from services.review.checks.types import FieldName, Finding, Severity

__all__ = [
    "CATEGORY",
    "find_personal_data",
    "find_personal_data_in_markup",
    "id_checksum_ok",
    "luhn_ok",
]

CATEGORY = "personal_data"
KINDS = ("id_number", "bank_card", "email", "mobile")


def _severity(kind: str, text: str) -> Severity:
    if kind == "email" and (text.lower().endswith(".gov.cn") or text.lower().endswith("@gov.cn")):
        return "warn"
    return "block"


def find_personal_data(text: str, field: FieldName = "body_text") -> list[Finding]:
    findings = []
    for span in detect(text, kinds=KINDS):
        value = text[span.start : span.end]
        severity = _severity(span.kind, value)
        findings.append(
            Finding(
                f"personal.{span.kind}",
                CATEGORY,
                severity,
                span.start,
                span.end,
                value,
                None,
                field,
            )
        )
    return sorted(findings, key=lambda f: (f.start, f.rule))


def find_personal_data_in_markup(html: str, text: str) -> list[Finding]:
    """Personal data only the HTML carries (`mailto:` links, `title`/`alt`/`data-*` attributes):
    the portal publishes the HTML, so it blocks too. What the text shows is reported there."""
    shown = {f.text for f in find_personal_data(text)}
    return [f for f in find_personal_data(html, "body_html") if f.text not in shown]
