"""Article title, date and body from real government page templates; links from list pages.

A page no template matches gets its body from trafilatura, which tells the article from the
navigation, side lists and footer around it; only a page it finds nothing on keeps its whole
`<body>` (cleaning then drops the chrome lines it knows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urldefrag, urlparse
from zoneinfo import ZoneInfo

import lxml.html  # type: ignore[import-untyped]
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from services.ingest.crawler.decode import decode

# Containers used by the common government CMSs (TRS, 大汉, 政府网站集约化平台, …), best first.
BODY_SELECTORS = (
    "//*[@id='zoom']", "//*[contains(@class,'TRS_Editor')]", "//*[@id='UCAP-CONTENT']",
    "//*[contains(@class,'pages_content')]", "//*[contains(@class,'article-content')]",
    "//*[@id='content']", "//*[contains(@class,'content')]", "//article",
)  # fmt: skip
TITLE_SUFFIX = re.compile(r"\s*[_|｜\-—]+\s*[^_|｜\-—]{2,30}$")
PAGE_DATE = re.compile(
    r"(?:发布日期|发布时间|發布日期|日期)[:：]?\s*((?:19|20)\d{2})[-/年.](\d{1,2})[-/月.](\d{1,2})日?"
    r"(?:\s+(\d{1,2}):(\d{2}))?"
)
URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/-]?(\d{1,2})[/-]?(\d{1,2})/|t((?:19|20)\d{2})(\d{2})(\d{2})_"
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# trafilatura's default wants 250 characters of article before it trusts its own pick (and
# otherwise falls back to a pass that keeps the menus); a Chinese notice says a lot in fewer.
GENERIC = use_config()
GENERIC.set("DEFAULT", "MIN_EXTRACTED_SIZE", "10")


@dataclass
class Article:
    title: str
    body_html: str
    published_at: datetime | None


def parse(html: str, url: str) -> etree._Element:
    doc = lxml.html.document_fromstring(html)
    doc.make_links_absolute(url, resolve_base_href=True)
    return doc


def meta(doc: etree._Element, name: str) -> str | None:
    lower = "translate(@name,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')"
    values = doc.xpath(f"//meta[{lower}='{name.lower()}']/@content")
    return values[0].strip() if values and values[0].strip() else None


def title_of(doc: etree._Element) -> str:
    found = meta(doc, "ArticleTitle")
    if found:
        return found
    for xpath in ("//h1", "//*[contains(@class,'title')]"):
        for element in doc.xpath(xpath):
            text: str = element.text_content().strip()
            if 4 <= len(text) <= 200:
                return text
    titles = doc.xpath("//title/text()")
    return TITLE_SUFFIX.sub("", titles[0].strip()) if titles else ""


def _at(
    year: str, month: str, day: str, hour: str | None = None, minute: str | None = None
) -> datetime | None:
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=SHANGHAI
        )
    except ValueError:
        return None


def date_of(doc: etree._Element, url: str) -> datetime | None:
    """PubDate page tag, else a 发布日期 line, else a date in the URL (/2017/6/13/, t20170613_)."""
    pub = meta(doc, "PubDate")
    if pub and (m := re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?", pub)):
        return _at(*m.groups())
    if m := PAGE_DATE.search(doc.text_content()):
        return _at(*m.groups())
    if m := URL_DATE.search(url):
        parts = [g for g in m.groups() if g]
        return _at(*parts[:3])
    return None


def generic_body(doc: etree._Element) -> str | None:
    """The article part of a page in no known template, as HTML; None if none is found.

    CPU only, no network (trafilatura works on the tree it is given, a copy of it).
    """
    extracted = trafilatura.extract(
        doc,
        output_format="html",
        fast=True,  # its one pass, not the comparison with fallback extractors that keep menus
        include_comments=False,
        include_formatting=True,
        include_links=True,
        include_images=True,
        include_tables=True,
        config=GENERIC,
    )
    if not extracted:
        return None
    body = lxml.html.document_fromstring(extracted).find("body")
    if body is None or not body.text_content().strip():
        return None
    body.tag = "div"
    html: str = etree.tostring(body, encoding="unicode", method="html")
    return html


def body_of(doc: etree._Element) -> str:
    for xpath in BODY_SELECTORS:
        found = doc.xpath(xpath)
        if found and len(found[0].text_content().strip()) > 20:
            html: str = etree.tostring(found[0], encoding="unicode", method="html")
            return html
    if generic := generic_body(doc):
        return generic
    body = doc.find("body")
    whole: str = etree.tostring(
        body if body is not None else doc, encoding="unicode", method="html"
    )
    return whole


def extract_article(html: str, url: str) -> Article:
    doc = parse(html, url)
    return Article(title_of(doc), body_of(doc), date_of(doc, url))


def read_article(body: bytes, content_type: str | None, url: str) -> Article:
    """A fetched page's article, from its bytes. CPU work (decoding, parsing, trafilatura):
    the crawler runs it in a worker thread."""
    return extract_article(decode(body, content_type)[0], url)


def article_links(html: str, url: str, pattern: str | None) -> list[str]:
    """Same-host links matching the article pattern, in page order, without fragments."""
    doc = parse(html, url)
    host = urlparse(url).netloc
    regex = re.compile(pattern) if pattern else None
    seen: dict[str, None] = {}
    for element, attribute, link, _ in doc.iterlinks():
        if element.tag != "a" or attribute != "href":
            continue
        link = urldefrag(link)[0]
        if urlparse(link).netloc != host or urlparse(link).scheme not in ("http", "https"):
            continue
        if regex is None or regex.search(link):
            seen.setdefault(link, None)
    return list(seen)


def sitemap_links(xml: bytes) -> list[str]:
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    return [loc.text.strip() for loc in root.iter("{*}loc") if loc.text]
