"""DOM-level cleaning of submitted or crawled HTML (lxml), before the allowlist sanitizer."""

from __future__ import annotations

import html as htmllib
import re

import lxml.html  # type: ignore[import-untyped]
import nh3
from lxml import etree

from services.ingest.cleaning.chrome import is_chrome, is_trailer_heading
from services.ingest.cleaning.spam import Finding
from services.ingest.cleaning.steps import StepLog
from services.ingest.cleaning.text import repair

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
    "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img", "blockquote", "span", "div",
    "sub", "sup", "hr", "caption",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\s*(?:;|$)"
    r"|(?:left|top|text-indent)\s*:\s*-\d{3,}px|(?:height|width)\s*:\s*0(?:px)?\s*;.*overflow\s*:\s*hidden",
    re.I,
)
BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "span", "section", "table"}
KEEP_EMPTY = {"img", "br", "hr", "td", "th", "tr"}
DANGEROUS = re.compile(r"<script|<iframe|<object|<embed|\son\w+\s*=|javascript:", re.I)
BLOCK_TAG = re.compile(r"</?(p|div|br|h[1-6]|li|tr|table|blockquote|hr)\b[^>]*>", re.I)
ANY_TAG = re.compile(r"<[^>]+>")
BLANK_LINES = re.compile(r"\n\s*\n+")
INTER_TAG_SPACE = re.compile(r">\s*\n\s*<")


def parse_fragment(raw: str) -> etree._Element:
    """A wrapper `<div>` around the fragment (or the `<body>` of a whole page)."""
    return lxml.html.fragment_fromstring(raw or "<p></p>", create_parent="div")


def is_hidden(element: etree._Element) -> bool:
    style = element.get("style") or ""
    return element.get("hidden") is not None or bool(HIDDEN_STYLE.search(style))


def remove_hidden(root: etree._Element, raw: str, log: StepLog) -> list[Finding]:
    """Drop elements hidden from readers; hidden links are SEO spam and become findings."""
    findings = []
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element is root or not is_hidden(element):
            continue
        text = element.text_content().strip()
        links = element.findall(".//a") + ([element] if element.tag == "a" else [])
        for link in links:
            snippet = link.text_content().strip() or (link.get("href") or "")
            start = raw.find(snippet) if snippet else -1
            findings.append(Finding("hidden_link", "raw", start, start + len(snippet), snippet))
        log.add("hidden_elements", 1, text or etree.tostring(element, encoding="unicode")[:80])
        element.drop_tree()
    return findings


def leaf_blocks(root: etree._Element) -> list[etree._Element]:
    return [
        e
        for e in root.iter()
        if isinstance(e.tag, str)
        and e is not root
        and e.tag in BLOCKS
        and not any(isinstance(c.tag, str) and c.tag in BLOCKS for c in e)
    ]


def is_link_list(element: etree._Element) -> bool:
    """A list of links, or a block whose whole text is its links' text (a related-items list)."""
    if not isinstance(element.tag, str):
        return False
    if element.tag in ("ul", "ol"):
        return True
    link_text = "".join(a.text_content() for a in element.iter("a")).strip()
    return bool(link_text) and link_text == element.text_content().strip()


def remove_chrome(root: etree._Element, log: StepLog) -> None:
    """Drop chrome lines; after a 相关阅读 heading drop the link list that follows it."""
    for element in leaf_blocks(root):
        if element.getparent() is None:
            continue
        text = element.text_content().strip()
        if is_trailer_heading(text):
            for sibling in list(element.itersiblings()):
                if not is_link_list(sibling):
                    break
                log.add("related_links", 1, sibling.text_content().strip())
                sibling.drop_tree()
            log.add("page_chrome", 1, text)
            element.drop_tree()
        elif is_chrome(text):
            log.add("page_chrome", 1, text)
            element.drop_tree()


def repair_text_nodes(root: etree._Element, log: StepLog) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.text:
            element.text = repair(element.text, log)
        if element.tail:
            element.tail = repair(element.tail, log)


def remove_empty(root: etree._Element, log: StepLog) -> None:
    """Junk markup: elements with no text and no image, bottom-up (nested empties go too)."""
    removed = 0
    for element in reversed(list(root.iter())):
        if not isinstance(element.tag, str) or element is root or element.tag in KEEP_EMPTY:
            continue
        if element.text_content().strip() or element.find(".//img") is not None:
            continue
        element.drop_tree()
        removed += 1
    log.add("empty_markup", removed)


def drop_comments(root: etree._Element, log: StepLog) -> None:
    comments = [c for c in root.iter() if not isinstance(c.tag, str)]
    for comment in comments:
        parent = comment.getparent()
        if parent is not None:
            comment.drop_tree() if hasattr(comment, "drop_tree") else parent.remove(comment)
    log.add("comments", len(comments))


def sanitize_html(raw: str) -> str:
    """Keep an allowlist of tags; scripts, event handlers and `javascript:` links are gone."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def clean_dom(raw: str, log: StepLog) -> tuple[str, list[Finding]]:
    """Cleaned, sanitized HTML of a fragment, and the hidden-link findings."""
    log.add("sanitize", len(DANGEROUS.findall(raw)))
    root = parse_fragment(raw)
    for bad in root.xpath("//script|//style|//noscript|//iframe|//object|//embed"):
        bad.drop_tree()
    findings = remove_hidden(root, raw, log)
    drop_comments(root, log)
    remove_chrome(root, log)
    repair_text_nodes(root, log)
    remove_empty(root, log)
    inner = (root.text or "") + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in root
    )
    return INTER_TAG_SPACE.sub("><", sanitize_html(inner)).strip(), findings


def html_to_text(safe_html: str) -> str:
    text = BLOCK_TAG.sub("\n", safe_html)
    text = htmllib.unescape(ANY_TAG.sub("", text))
    lines = [line.strip() for line in text.splitlines()]
    return BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def text_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in text.splitlines() if p.strip()]
    return "".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs)
