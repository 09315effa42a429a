"""A small subordinate government site served by the test itself on a free port.

GBK, Big5 and undeclared UTF-8 pages, ETag / Last-Modified validators, robots.txt, a page that
changes between runs, and the hostile cases: a dead page, a redirect loop, a huge response, a
slow page, an image where an article should be, and a path robots.txt forbids.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.testing import free_port
from services.ingest.chinese import to_traditional

ARTICLE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date}">
<title>{title}_晋中市人民政府</title></head><body>
<div class="nav">首页 &gt; 政务公开</div>
<div class="info">发布日期：{date}　字体：[大 中 小]　浏览次数：12</div>
<div id="zoom">{body}</div>
<div>扫一扫在手机打开当前页</div></body></html>"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>晋中市人民政府 - 政务动态</title><link>http://www.sxjz.gov.cn/</link><description>政务动态</description>
<item><title>市政府召开常务会议研究部署网站建设工作</title><link>http://www.sxjz.gov.cn/a/1.html</link>
<guid>sxjz-2006-0001</guid><pubDate>Mon, 02 Oct 2006 02:00:00 GMT</pubDate>
<content:encoded><![CDATA[<p>10月2日，市政府召开常务会议，研究部署政府门户网站建设工作。会议要求各单位明确专人负责信息报送。</p>]]></content:encoded></item>
<item><title>市信息中心开展网站信息员培训</title><link>http://www.sxjz.gov.cn/a/2.html</link>
<guid>sxjz-2006-0002</guid><pubDate>Tue, 03 Oct 2006 02:00:00 GMT</pubDate>
<description>&lt;p&gt;市信息中心举办全市政府网站信息员培训班，120余名信息员参加培训。&lt;/p&gt;</description></item>
</channel></rss>"""


def article(title: str, body: str, date: str, charset: str) -> bytes:
    html = ARTICLE.format(title=title, body=body, date=date, charset=charset)
    if charset == "big5":  # a Taiwan/Hong Kong-style page: chrome in Traditional too
        html = to_traditional(html)
    return html.encode(charset)


class SiteState:
    def __init__(self) -> None:
        self.revision = 1
        self.requests: list[tuple[str, str | None]] = []

    def pages(self) -> dict[str, tuple[bytes, str]]:
        notice_body = (
            "<p>各县（区、市）人民政府，市直各单位：</p>"
            "<p>为做好全市政府门户网站内容保障工作，现将有关事项通知如下。一、各单位要明确信息员，"
            f"每周至少报送{2 if self.revision == 1 else 3}条政务信息。</p>"
            "<p>晋中市人民政府办公厅</p><p>2006年10月1日</p>"
        )
        return {
            "/robots.txt": (b"User-agent: *\nDisallow: /private/\n", "text/plain"),
            "/list.html": (
                (
                    '<html><head><meta charset="utf-8"></head><body><ul>'
                    '<li><a href="/art/2006/10/1/notice.html">通知</a></li>'
                    '<li><a href="/art/2006/10/2/big5.html">繁体</a></li>'
                    '<li><a href="art/2006/10/3/utf8.html">无声明</a></li>'
                    '<li><a href="/art/dead.html">死链</a></li>'
                    '<li><a href="/art/loop.html">循环</a></li>'
                    '<li><a href="/art/huge.html">超大</a></li>'
                    '<li><a href="/art/slow.html">超时</a></li>'
                    '<li><a href="/art/image.html">图片</a></li>'
                    '<li><a href="/private/art/secret.html">内部</a></li>'
                    '<li><a href="/about.html">关于</a></li>'
                    '<li><a href="http://elsewhere.example/art/x.html">外站</a></li>'
                    "</ul></body></html>"
                ).encode(),
                "text/html",
            ),
            "/art/2006/10/1/notice.html": (
                article(
                    "关于做好市政府门户网站内容保障工作的通知",
                    notice_body,
                    "2006-10-01 09:00",
                    "gbk",
                ),
                "text/html",
            ),
            "/art/2006/10/2/big5.html": (
                article(
                    "關於加強政府網站建設的意見",
                    "<p>各區縣人民政府：</p><p>為加強政府網站建設，提高網上服務水平，現提出以下意見。"
                    "各單位要及時更新網站內容，確保信息準確。</p>",
                    "2006-10-02 10:00",
                    "big5",
                ),
                "text/html; charset=big5",
            ),
            "/art/2006/10/3/utf8.html": (
                article(
                    "市信息中心关于网站栏目共建的通知",
                    "<p>各单位：为推进网站栏目共建，请于10月底前报送栏目建设方案。</p>",
                    "2006-10-03 11:00",
                    "utf-8",
                ).replace(b"; charset=utf-8", b""),
                "text/html",
            ),
            "/feed.xml": (FEED.encode(), "application/rss+xml; charset=utf-8"),
            "/art/huge.html": (
                b"<html><body>" + b"x" * (300 * 1024) + b"</body></html>",
                "text/html",
            ),
            "/art/image.html": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
            "/private/art/secret.html": (
                article("内部", "<p>内部资料</p>", "2006-10-01", "utf-8"),
                "text/html",
            ),
        }


def handler_for(state: SiteState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append((self.path, self.headers.get("If-None-Match")))
            if self.path == "/art/loop.html":
                self.send_response(302)
                self.send_header("Location", "/art/loop.html")
                self.end_headers()
                return
            if self.path == "/art/slow.html":
                time.sleep(8.0)  # well past the tests' 4 s timeout, even on a loaded machine
            page = state.pages().get(self.path)
            if page is None:
                self.send_response(404)
                self.end_headers()
                return
            body, content_type = page
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Sun, 01 Oct 2006 01:00:00 GMT")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_site() -> Iterator[tuple[str, SiteState]]:
    state = SiteState()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler_for(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
