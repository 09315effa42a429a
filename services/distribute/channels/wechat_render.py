"""An item rendered as a WeChat official-account article (a draft's `articles[0]`).

Pure: no I/O. The body is what the adapter sends to `draft/add`, except that the adapter swaps
each in-article image for its re-hosted copy (the platform strips images hosted elsewhere),
adds the thumb's media id, and puts the marker in `content_source_url` (the "阅读原文" link).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html  # type: ignore[import-untyped]
import nh3

from services.distribute.channels.contract import Finding, Rendered
from services.distribute.models import ContentSnapshot

TITLE_LIMIT = 32  # characters
CONTENT_LIMIT = 20_000  # characters: the content must stay below it
CONTENT_BYTES = 1_000_000  # UTF-8 bytes: below 1 MB
DIGEST_LIMIT = 120  # characters

# What an article body may contain: text structure, tables and images. No scripts, styles,
# frames, forms, media players or event handlers (nh3 never keeps `on*` attributes).
ALLOWED_TAGS = {
    "p", "br", "span", "strong", "b", "em", "i", "u", "s", "sub", "sup", "small",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "hr",
    "ul", "ol", "li", "dl", "dt", "dd", "section", "figure", "figcaption",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "img", "a",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "img": {"src", "alt", "width", "height"},
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# nh3 removes these elements with their content (not just the tags)
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "form", "noscript", "textarea"}
SPACE = re.compile(r"\s+")
SOURCELESS_IMG = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")  # its source was unsafe


def render_wechat(snapshot: ContentSnapshot, article_url: str) -> Rendered:
    """The article for `snapshot` whose "阅读原文" link is `article_url` (the portal page).

    Body keys: title, author, digest, content (sanitised HTML, image sources made absolute),
    content_source_url, images (the distinct in-article image URLs, in order, to re-host),
    cover (the first image or None), need_open_comment, only_fans_can_comment. Findings: title
    over 32 characters, content empty, 20,000 characters or more, or 1 MB or more.
    """
    content = sanitize(snapshot.body_html, article_url)
    images = image_sources(content)
    body: dict[str, Any] = {
        "title": snapshot.title.strip(),
        "author": snapshot.author or "",
        "digest": digest_of(snapshot),
        "content": content,
        "content_source_url": article_url,
        "images": images,
        "cover": images[0] if images else None,
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
    }
    return Rendered("wechat", body, tuple(findings_for(body["title"], content, images)))


def sanitize(raw: str, base_url: str) -> str:
    """WeChat's subset of `raw`, with relative image and link sources resolved on `base_url`."""
    cleaned = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel=None,
        attribute_filter=lambda tag, name, value: _absolute(tag, name, value, base_url),
    )
    return SOURCELESS_IMG.sub("", cleaned).strip()


def _absolute(tag: str, name: str, value: str, base_url: str) -> str | None:
    if (tag, name) in (("img", "src"), ("a", "href")):
        url = urljoin(base_url, value.strip())
        return url if urlsplit(url).scheme in ("http", "https") else None
    return value


def image_sources(content: str) -> list[str]:
    """The distinct `<img src>` URLs of sanitised HTML, in document order."""
    if not content:
        return []
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    seen: dict[str, None] = {}
    for img in root.iter("img"):
        src = img.get("src")
        if src:
            seen[src] = None
    return list(seen)


def text_of(content: str) -> str:
    if not content:
        return ""
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    return SPACE.sub(" ", root.text_content()).strip()


def digest_of(snapshot: ContentSnapshot) -> str:
    """The item's summary, else the start of its text: at most 120 characters, cut with …"""
    text = SPACE.sub(" ", snapshot.summary or snapshot.body_text or "").strip()
    if len(text) <= DIGEST_LIMIT:
        return text
    return text[: DIGEST_LIMIT - 1].rstrip() + "…"


def findings_for(title: str, content: str, images: list[str]) -> list[Finding]:
    """What the platform would refuse: the title's length and the content's emptiness/size."""
    found: list[Finding] = []
    if not title:
        found.append(Finding("title", "title_empty", "标题不能为空"))
    elif len(title) > TITLE_LIMIT:
        found.append(
            Finding(
                "title",
                "title_too_long",
                f"微信公众号文章标题不能超过 {TITLE_LIMIT} 个字（当前 {len(title)} 个字）",
            )
        )
    if not text_of(content) and not images:
        found.append(Finding("body_html", "content_empty", "正文为空，无法发布到微信公众号"))
    elif len(content) >= CONTENT_LIMIT:
        found.append(
            Finding(
                "body_html",
                "content_too_long",
                f"正文清理后为 {len(content)} 个字符，微信公众号要求少于 {CONTENT_LIMIT} 个字符",
            )
        )
    if len(content.encode("utf-8")) >= CONTENT_BYTES:
        found.append(Finding("body_html", "content_too_large", "正文超过 1 MB，微信公众号无法接收"))
    return found
