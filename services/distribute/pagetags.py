"""What a portal renders: the article JSON with its page tags, and the column list entry.

Pure functions of a snapshot and the site tree; called once at publish time, and the results are
stored as bytes so that public reads never rebuild them (docs/ceilings.md).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from common.chinese import extract_keywords
from common.columns import as_utc
from services.distribute.models import ContentSnapshot

# China keeps no daylight saving time: a fixed offset is Asia/Shanghai for every date we render.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
SUMMARY_CHARS = 100

# Values of the ColumnType page tag (政府网站 page-tag convention), keyed by column `type`.
COLUMN_TYPES = {
    "news": "政务动态",
    "notice": "通知公告",
    "policy": "政策文件",
    "interpretation": "解读回应",
    "interview": "互动交流",
    "other": "其他",
}
# Words too common in government titles to say anything as keywords.
STOP_WORDS = frozenset({"关于", "通知", "进一步", "有关", "工作", "意见", "印发", "做好", "加强"})
_IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


@dataclass(frozen=True)
class SiteInfo:
    slug: str
    name: str
    domain: str
    site_id_code: str


@dataclass(frozen=True)
class ColumnInfo:
    slug: str
    name: str
    type: str


def iso(moment: datetime) -> str:
    """ISO-8601 with the Asia/Shanghai offset, as the API shows times."""
    return as_utc(moment).astimezone(SHANGHAI).isoformat(timespec="seconds")


def pub_date(moment: datetime) -> str:
    """The PubDate page tag: `YYYY-MM-DD HH:MM` in Beijing time."""
    return as_utc(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def article_url(site: SiteInfo, column: str, content_id: str) -> str:
    return f"https://{site.domain}/{column}/{content_id}.html"


def column_url(site: SiteInfo, column: str) -> str:
    return f"https://{site.domain}/{column}/"


def summary_of(snapshot: ContentSnapshot) -> str:
    """The item's own summary, else the first 100 characters of its text (内容概述 ≤ 100)."""
    text = (snapshot.summary or " ".join(snapshot.body_text.split())).strip()
    return text[:SUMMARY_CHARS]


def warm_up_keywords() -> None:
    """Load jieba's dictionary (≈ 0.5 s) once per process, before the first item needs it."""
    extract_keywords("政府网站信息内容建设", top=1)


def keywords_of(title: str, limit: int = 5) -> list[str]:
    """Keywords page tag: TF-IDF words of the title, minus boilerplate."""
    tags = extract_keywords(title, top=limit + len(STOP_WORDS))
    return [t for t in tags if t not in STOP_WORDS and len(t) > 1][:limit]


def first_image(body_html: str) -> str:
    match = _IMG.search(body_html)
    return html.unescape(match.group(1)) if match else ""


def original_date(snapshot: ContentSnapshot) -> datetime | None:
    """The item's own publication date (发布日期) as the library knows it, or None."""
    if not snapshot.published_at:
        return None
    try:
        return as_utc(datetime.fromisoformat(snapshot.published_at))
    except ValueError:  # the library validates dates; an odd one falls back to delivery time
        return None


def shown_date(snapshot: ContentSnapshot, delivered_at: datetime) -> datetime:
    """The date the page shows (PubDate, lists, feeds): the original publication date of an
    imported or crawled item, else the moment the hub first delivered it."""
    return original_date(snapshot) or delivered_at


def page_tags(
    site: SiteInfo, column: ColumnInfo, snapshot: ContentSnapshot, published_at: datetime
) -> dict[str, str]:
    """The page tags every rendered article page carries (the national list, SiteName … Url);
    `published_at` is the date shown (`shown_date`)."""
    return {
        "SiteName": site.name,
        "SiteDomain": site.domain,
        "SiteIDCode": site.site_id_code,
        "ColumnName": column.name,
        "ColumnType": COLUMN_TYPES.get(column.type, COLUMN_TYPES["other"]),
        "ArticleTitle": snapshot.title,
        "PubDate": pub_date(published_at),
        "ContentSource": snapshot.publisher,
        "Keywords": ",".join(keywords_of(snapshot.title)),
        "Author": snapshot.author,
        "Description": summary_of(snapshot),
        "Image": first_image(snapshot.body_html),
        "Url": article_url(site, column.slug, snapshot.content_id),
    }


def meta_html(tags: dict[str, str]) -> str:
    """The tags as `<meta>` elements, ready to paste into the page head."""
    return "".join(
        f'<meta name="{name}" content="{html.escape(value, quote=True)}">'
        for name, value in tags.items()
    )


def render_article(
    site: SiteInfo,
    columns: list[ColumnInfo],
    snapshot: ContentSnapshot,
    delivered_at: datetime,
) -> dict[str, Any]:
    """The article as `GET /api/v1/sites/{site}/items/{id}` returns it; `columns[0]` is home.

    `published_at` is the date shown (the original 发布日期 when the library has one);
    `delivered_at` is when the hub first put the item on this site.
    """
    published_at = shown_date(snapshot, delivered_at)
    tags = page_tags(site, columns[0], snapshot, published_at)
    return {
        "id": snapshot.content_id,
        "version": snapshot.version,
        "content_hash": snapshot.content_hash,
        "site": site.slug,
        "columns": [{"slug": c.slug, "name": c.name, "type": c.type} for c in columns],
        "title": snapshot.title,
        "summary": tags["Description"],
        "body_html": snapshot.body_html,
        "kind": snapshot.kind,
        "publisher": snapshot.publisher,
        "doc_number": snapshot.doc_number,
        "index_no": snapshot.index_no,
        "author": snapshot.author,
        "is_reprint": snapshot.is_reprint,
        "written_at": snapshot.written_at,
        "published_at": iso(published_at),
        "delivered_at": iso(delivered_at),
        "url": tags["Url"],
        "page_tags": tags,
        "meta_html": meta_html(tags),
    }


def render_entry(article: dict[str, Any], column: ColumnInfo, site: SiteInfo) -> dict[str, Any]:
    """The short form a column list shows; links to the article in that column."""
    return {
        "id": article["id"],
        "version": article["version"],
        "title": article["title"],
        "summary": article["summary"],
        "kind": article["kind"],
        "publisher": article["publisher"],
        "doc_number": article["doc_number"],
        "column": column.slug,
        "published_at": article["published_at"],
        "url": article_url(site, column.slug, article["id"]),
    }
