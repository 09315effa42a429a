"""Turning submitted bodies into safe HTML and plain text."""

from __future__ import annotations

import hashlib
import html
import re

import nh3
import orjson

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "img",
    "blockquote",
    "span",
    "div",
    "sub",
    "sup",
    "hr",
    "caption",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
BLOCK_TAG = re.compile(r"</?(p|div|br|h[1-6]|li|tr|table|blockquote|hr)\b[^>]*>", re.I)
ANY_TAG = re.compile(r"<[^>]+>")
BLANK_LINES = re.compile(r"\n\s*\n+")


def sanitize_html(raw: str) -> str:
    """Keep an allowlist of tags; scripts, event handlers and `javascript:` links are gone."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def html_to_text(safe_html: str) -> str:
    text = BLOCK_TAG.sub("\n", safe_html)
    text = html.unescape(ANY_TAG.sub("", text))
    lines = [line.strip() for line in text.splitlines()]
    return BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def text_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in text.splitlines() if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def content_hash(fields: dict[str, object]) -> str:
    """sha256 over the canonical JSON of everything a reviewer approves."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
