"""Column feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1 rendered from published article JSON.

Pure functions: the caller passes the site, the column and the newest articles (newest first).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import orjson
from feedgen.feed import FeedGenerator

from services.distribute.pagetags import ColumnInfo, SiteInfo, column_url

FeedFormat = Literal["rss", "atom", "json"]
FEED_FORMATS: dict[str, FeedFormat] = {"rss": "rss", "atom": "atom", "json": "json"}
MEDIA_TYPES: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
EPOCH = "1970-01-01T08:00:00+08:00"
# Characters XML 1.0 forbids; dirty sources (old systems, copy-paste) do carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def feed_path(site: SiteInfo, column: ColumnInfo, fmt: FeedFormat) -> str:
    return f"/feeds/{site.slug}/{column.slug}.{fmt}"


def feed_title(site: SiteInfo, column: ColumnInfo) -> str:
    return f"{site.name} - {column.name}"


def render_feed(
    fmt: FeedFormat,
    site: SiteInfo,
    column: ColumnInfo,
    articles: list[dict[str, Any]],
    self_url: str,
) -> bytes:
    """The feed document's bytes; `self_url` is where the feed itself is served."""
    if fmt == "json":
        return render_json_feed(site, column, articles, self_url)
    generator = _generator(site, column, articles, self_url)
    document: bytes = (
        generator.rss_str(pretty=False) if fmt == "rss" else generator.atom_str(pretty=False)
    )
    return document


def render_json_feed(
    site: SiteInfo, column: ColumnInfo, articles: list[dict[str, Any]], self_url: str
) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed_title(site, column),
        "home_page_url": column_url(site, column.slug),
        "feed_url": self_url,
        "description": f"{site.name}{column.name}栏目",
        "language": "zh-CN",
        "authors": [{"name": site.name, "url": f"https://{site.domain}/"}],
        "items": [_json_item(article) for article in articles],
    }
    return orjson.dumps(feed)


def _json_item(article: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": article["id"],
        "url": article["url"],
        "title": article["title"],
        "content_html": article["body_html"],
        "summary": article["summary"],
        "date_published": article["published_at"],
        "authors": [{"name": article["publisher"]}],
        "tags": [t for t in article["page_tags"]["Keywords"].split(",") if t],
        "language": "zh-CN",
        "_kitchen": {"version": article["version"], "content_hash": article["content_hash"]},
    }
    if article["page_tags"]["Image"]:
        item["image"] = article["page_tags"]["Image"]
    return item


def _generator(
    site: SiteInfo, column: ColumnInfo, articles: list[dict[str, Any]], self_url: str
) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(f"urn:kitchen:feed:{site.slug}:{column.slug}")
    generator.title(xml_safe(feed_title(site, column)))
    generator.link(href=column_url(site, column.slug), rel="alternate")
    generator.link(href=self_url, rel="self")
    generator.description(f"{site.name}{column.name}栏目")
    generator.language("zh-CN")
    generator.author({"name": site.name})
    newest = articles[0]["published_at"] if articles else EPOCH
    generator.updated(datetime.fromisoformat(newest))
    generator.lastBuildDate(datetime.fromisoformat(newest))
    for article in articles:
        _add_entry(generator, article)
    return generator


def _add_entry(generator: FeedGenerator, article: dict[str, Any]) -> None:
    entry = generator.add_entry(order="append")  # feedgen prepends by default
    published = datetime.fromisoformat(article["published_at"])
    entry.id(f"urn:kitchen:content:{article['id']}")
    entry.guid(f"urn:kitchen:content:{article['id']}", permalink=False)
    entry.title(xml_safe(article["title"]))
    entry.link(href=article["url"])
    entry.summary(xml_safe(article["summary"] or article["title"]))
    entry.content(xml_safe(article["body_html"]), type="html")
    entry.author({"name": xml_safe(article["publisher"])})
    entry.published(published)
    entry.updated(published)
