"""Column feeds over HTTP: what a feed reader receives, with caching headers."""

from __future__ import annotations

import feedparser

from tests.integration.distribute.conftest import Distribute, ingested


async def test_feeds_in_three_formats(distribute: Distribute) -> None:
    for n in range(3):
        await distribute.publish(ingested(f"c{n}", title=f"通知公告{n}", columns=["notices"]))
    for fmt, media in [("rss", "application/rss+xml"), ("atom", "application/atom+xml")]:
        response = await distribute.client.get(f"/feeds/province/notices.{fmt}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        assert [e.title for e in feed.entries] == ["通知公告2", "通知公告1", "通知公告0"]
        assert feed.entries[0].link == "https://www.sc.gov.cn/notices/c2.html"
    response = await distribute.client.get("/feeds/province/notices.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "http://distribute/feeds/province/notices.json"
    assert [i["id"] for i in feed["items"]] == ["c2", "c1", "c0"]
    assert feed["items"][0]["content_html"].startswith("<p>")


async def test_feed_etag_changes_when_an_item_is_published(distribute: Distribute) -> None:
    await distribute.publish(ingested("c1"))
    first = await distribute.client.get("/feeds/province/notices.atom")
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public")
    cached = await distribute.client.get(
        "/feeds/province/notices.atom", headers={"If-None-Match": etag}
    )
    assert cached.status_code == 304
    await distribute.publish(ingested("c2"))
    fresh = await distribute.client.get(
        "/feeds/province/notices.atom", headers={"If-None-Match": etag}
    )
    assert fresh.status_code == 200 and len(feedparser.parse(fresh.content).entries) == 2
