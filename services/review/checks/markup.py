"""Checks on the HTML body: hidden text or links (defacement), accessibility, outbound links.

Spans index `body_html`. Regular expressions, not a DOM, because findings need source offsets.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.review.checks.types import FieldName, Finding

_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>")
_ATTR = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\s*(?:;|$)"
    r"|(?:^|;)\s*(?:left|top|text-indent)\s*:\s*-\d{3,}",
    re.I,
)
_TABLE = re.compile(r"<table\b.*?</table\s*>", re.I | re.S)
_HEADER_CELL = re.compile(r"<th\b", re.I)
_TEXT_URL = re.compile(r"https?://[^\s<>\"'，。；、）)】]+", re.I)


@dataclass(frozen=True)
class Link:
    url: str
    start: int
    end: int
    field: FieldName


def _attrs(raw: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape((m.group(2) or "").strip("\"'"))
        for m in _ATTR.finditer(raw)
    }


def find_hidden_content(body_html: str) -> list[Finding]:
    """Elements hidden by style or the `hidden` attribute: injected SEO text or links (block)."""
    findings = []
    for m in _TAG.finditer(body_html):
        attrs = _attrs(m.group(2))
        if "hidden" in attrs or _HIDDEN_STYLE.search(attrs.get("style", "")):
            close = re.compile(rf"</{m.group(1)}\s*>", re.I).search(body_html, m.end())
            end = close.end() if close else m.end()
            findings.append(
                Finding(
                    "advertising.hidden_content",
                    "advertising",
                    "block",
                    m.start(),
                    end,
                    body_html[m.start() : end],
                    None,
                    "body_html",
                )
            )
    return findings


def find_accessibility_problems(body_html: str) -> list[Finding]:
    """Images without alt text and tables without header cells (warn)."""
    findings = []
    for m in _TAG.finditer(body_html):
        if m.group(1).lower() == "img" and not _attrs(m.group(2)).get("alt", "").strip():
            findings.append(
                Finding(
                    "accessibility.img_alt",
                    "accessibility",
                    "warn",
                    m.start(),
                    m.end(),
                    m.group(),
                    None,
                    "body_html",
                )
            )
    for m in _TABLE.finditer(body_html):
        if not _HEADER_CELL.search(m.group()):
            end = min(m.end(), m.start() + 200)
            findings.append(
                Finding(
                    "accessibility.table_headers",
                    "accessibility",
                    "warn",
                    m.start(),
                    end,
                    body_html[m.start() : end],
                    None,
                    "body_html",
                )
            )
    return findings


def extract_links(body_html: str, body_text: str) -> list[Link]:
    """Absolute http(s) links: `href`/`src` in the HTML (spanning the value), URLs in the text."""
    links = []
    for m in _TAG.finditer(body_html):
        for name in ("href", "src"):
            for a in _ATTR.finditer(m.group(2)):
                if a.group(1).lower() == name and a.group(2):
                    value = a.group(2).strip("\"'")
                    if value.lower().startswith(("http://", "https://")):
                        start = m.start(2) + a.start(2) + (a.group(2) != value)
                        links.append(
                            Link(html.unescape(value), start, start + len(value), "body_html")
                        )
    for m in _TEXT_URL.finditer(body_text):
        links.append(Link(m.group(), m.start(), m.end(), "body_text"))
    return links


def host_allowed(url: str, allowlist: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (a.lower() for a in allowlist))


def find_outside_links(
    links: list[Link], allowlist: list[str], source: dict[str, str]
) -> list[Finding]:
    """Links to commercial or unknown domains (block: no commercial ads on government sites)."""
    return [
        Finding(
            "advertising.link_outside_allowlist",
            "advertising",
            "block",
            link.start,
            link.end,
            source[link.field][link.start : link.end],
            None,
            link.field,
        )
        for link in links
        if not host_allowed(link.url, allowlist)
    ]
