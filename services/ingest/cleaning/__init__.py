"""Cleaning that never loses the original: raw bytes are kept by the caller, every step recorded.

`clean(...)` is the one entry: HTML or plain text in, safe HTML + plain text + the steps applied
+ spam findings out. Nothing here knows about HTTP, Kafka or the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from services.ingest.cleaning.chrome import is_chrome, is_trailer_heading
from services.ingest.cleaning.html import clean_dom, html_to_text, sanitize_html, text_to_html
from services.ingest.cleaning.spam import Finding, gambling_spans, quarantine_reason
from services.ingest.cleaning.steps import StepLog
from services.ingest.cleaning.text import repair

__all__ = [
    "Cleaned",
    "Finding",
    "clean",
    "clean_title",
    "content_hash",
    "html_to_text",
    "quarantine_reason",
    "sanitize_html",
    "text_to_html",
]
TRAILER_LINE_MAX = 60


@dataclass
class Cleaned:
    """The cleaned document; `findings` non-empty means it must be quarantined."""

    title: str
    body_html: str
    body_text: str
    steps: list[dict[str, object]]
    findings: list[Finding] = field(default_factory=list)


def clean_text_lines(text: str, log: StepLog) -> str:
    """Plain text: drop chrome lines and a trailing 相关阅读 list, then repair every line."""
    kept: list[str] = []
    in_trailer = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        if is_trailer_heading(stripped):
            in_trailer = True
            log.add("page_chrome", 1, stripped)
        elif in_trailer and stripped and len(stripped) <= TRAILER_LINE_MAX:
            log.add("related_links", 1, stripped)
        elif is_chrome(stripped):
            log.add("page_chrome", 1, stripped)
        else:
            in_trailer = in_trailer and not stripped
            kept.append(repair(line, log).strip())
    return "\n".join(line for line in kept if line)


def clean_title(title: str, log: StepLog) -> str:
    return repair(title, log).strip()


def clean(title: str, body_html: str | None, body_text: str | None) -> Cleaned:
    """Clean one document; HTML wins over text when both are given."""
    log = StepLog()
    findings: list[Finding] = []
    title = clean_title(title, log)
    if body_html:
        safe_html, findings = clean_dom(body_html, log)
        text = html_to_text(safe_html)
    else:
        text = clean_text_lines(body_text or "", log)
        safe_html = text_to_html(text)
    findings += gambling_spans(title, "title") + gambling_spans(text, "text")
    return Cleaned(title, safe_html, text, log.as_list(), findings)


def content_hash(fields: dict[str, object]) -> str:
    """sha256 over the canonical JSON of everything a reviewer approves."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
