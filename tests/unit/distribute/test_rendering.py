"""Page tags and feeds rendered from a snapshot: what portals and feed readers receive."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import orjson

from services.distribute.feeds import render_feed
from services.distribute.models import ContentSnapshot
from services.distribute.pagetags import (
    ColumnInfo,
    SiteInfo,
    page_tags,
    pub_date,
    render_article,
    summary_of,
)

SITE = SiteInfo("province", "四川省人民政府", "www.sc.gov.cn", "5100000001")
COLUMN = ColumnInfo("notices", "通知公告", "notice")
WHEN = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 2026-03-02 00:30 in Beijing


def snapshot(n: int = 1, **overrides: object) -> ContentSnapshot:
    values: dict[str, object] = {
        "content_id": f"c{n}",
        "version": 1,
        "content_hash": f"h{n}",
        "title": f"关于做好政府网站信息内容建设工作的通知{n}",
        "body_html": '<p>正文 & 内容</p><img src="https://img.sc.gov.cn/a.png">',
        "body_text": "正文 & 内容 " * 30,
        "kind": "notice",
        "site": "province",
        "columns": ["notices"],
        "publisher": "四川省人民政府办公厅",
        "author": "editor",
        "received_at": WHEN,
    }
    return ContentSnapshot(**(values | overrides))


def test_page_tags_follow_the_convention() -> None:
    tags = page_tags(SITE, COLUMN, snapshot(), WHEN)
    assert tags["PubDate"] == "2026-03-02 00:30" == pub_date(WHEN)
    assert tags["SiteIDCode"] == "5100000001" and tags["ColumnType"] == "通知公告"
    assert tags["Image"] == "https://img.sc.gov.cn/a.png"
    assert tags["Url"] == "https://www.sc.gov.cn/notices/c1.html"
    assert "关于" not in tags["Keywords"].split(",") and "网站" in tags["Keywords"].split(",")
    assert len(tags["Description"]) == 100
    assert set(tags) >= {"SiteName", "SiteDomain", "ColumnName", "ArticleTitle", "ContentSource"}


def test_summary_prefers_the_items_own() -> None:
    assert summary_of(snapshot(summary="概述")) == "概述"


def test_meta_html_escapes() -> None:
    article = render_article(SITE, [COLUMN], snapshot(title='标题 "引号" <b>'), WHEN)
    assert 'content="标题 &quot;引号&quot; &lt;b&gt;"' in article["meta_html"]


def articles(count: int) -> list[dict]:
    return [
        render_article(SITE, [COLUMN], snapshot(n), WHEN.replace(hour=10 - n)) for n in range(count)
    ]


def test_rss_and_atom_parse_cleanly_newest_first() -> None:
    for fmt in ("rss", "atom"):
        feed = feedparser.parse(render_feed(fmt, SITE, COLUMN, articles(3), "https://x/f"))
        assert not feed.bozo, (fmt, feed.bozo_exception)
        assert feed.feed.title == "四川省人民政府 - 通知公告"
        assert [e.title for e in feed.entries] == [a["title"] for a in articles(3)]
        assert feed.entries[0].link == "https://www.sc.gov.cn/notices/c0.html"
        assert "正文 &amp; 内容" in feed.entries[0].content[0].value or "正文 & 内容" in (
            feed.entries[0].content[0].value
        )


def test_empty_feeds_are_valid() -> None:
    for fmt in ("rss", "atom"):
        feed = feedparser.parse(render_feed(fmt, SITE, COLUMN, [], "https://x/f"))
        assert not feed.bozo and feed.entries == []


def test_json_feed_1_1_fields() -> None:
    feed = orjson.loads(render_feed("json", SITE, COLUMN, articles(2), "https://x/f.json"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "https://x/f.json" and feed["home_page_url"].startswith("https://")
    item = feed["items"][0]
    assert item["id"] == "c0" and item["content_html"].startswith("<p>")
    assert item["date_published"].endswith("+08:00") and item["authors"][0]["name"]
    assert item["image"] == "https://img.sc.gov.cn/a.png"
    assert {i["id"] for i in feed["items"]} == {"c0", "c1"}


def test_control_characters_from_dirty_sources_do_not_break_xml() -> None:
    dirty = [
        render_article(
            SITE, [COLUMN], snapshot(1, title="标题\x0b含控制符", body_html="<p>正文\x08</p>"), WHEN
        )
    ]
    for fmt in ("rss", "atom"):
        feed = feedparser.parse(render_feed(fmt, SITE, COLUMN, dirty, "https://x/f"))
        assert not feed.bozo and feed.entries[0].title == "标题含控制符"
