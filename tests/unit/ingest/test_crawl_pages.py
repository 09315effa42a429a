"""Crawled pages as they come: legacy encodings that no header or meta tag declares, and article
pages in a layout none of the known government templates matches."""

from __future__ import annotations

from services.ingest.cleaning import clean
from services.ingest.crawler.decode import decode
from services.ingest.crawler.extract import extract_article, read_article

# A Taiwan-style announcement page, saved by an old CMS in Big5 with no charset anywhere.
BIG5_PAGE = """<html><head>
<title>公告：本府辦理113年度政府網站服務品質檢核作業</title>
<link rel="stylesheet" href="/css/style.css">
<script language="javascript" src="/js/menu.js"></script>
</head><body bgcolor="#FFFFFF">
<table width="980" border="0" cellspacing="0" cellpadding="0"><tr>
<td><a href="/index.asp">首頁</a> | <a href="/news.asp">最新消息</a>
 | <a href="/law.asp">法規查詢</a> | <a href="/mail.asp">首長信箱</a></td></tr></table>
<div id="zoom">
<p>主旨：本府辦理一一三年度政府網站服務品質檢核作業，請各機關配合辦理。</p>
<p>說明：一、依據行政院所頒政府網站營運規範辦理。二、檢核項目包括網站內容正確性、
資料更新頻率、無障礙設計及個人資料保護等四項。三、請各機關於十月三十一日前完成自評，
並將自評結果函送本府資訊處彙整。</p>
<p>臺北市政府資訊處</p>
</div>
<div class="footer">地址：臺北市信義區市府路一號　電話：(02)2720-8889　版權所有</div>
</body></html>"""

# A county notice in GBK, from a server that sends a bare `text/html` and a page with no meta.
GBK_PAGE = """<html><head><title>关于做好2024年秋冬季森林防火工作的通知_某某县人民政府</title>
<meta name="ArticleTitle" content="关于做好2024年秋冬季森林防火工作的通知">
<meta name="PubDate" content="2024-10-08 16:20"></head><body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 通知公告</div>
<div class="TRS_Editor">
<p>各乡镇人民政府，县直有关单位：</p>
<p>当前已进入秋冬季森林防火期，为切实做好森林防火工作，确保人民群众生命财产安全，现将有关事项通知如下：
一、严格管控野外火源，进山入林人员一律不得携带火种。二、加强巡查值守，落实二十四小时值班制度。</p>
<p>某某县森林防灭火指挥部办公室</p>
</div></body></html>"""

# A portal layout of its own: menu, breadcrumb, a side list of other notices, share links and a
# footer around the article, and none of the containers the templates look for.
UNTEMPLATED_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>关于开展2024年度政务公开工作考核的通知_某某县人民政府</title></head>
<body>
<div class="top"><div class="logo"><img src="/images/logo.png" alt="某某县人民政府"></div>
<ul class="menu"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/zwfw/">政务服务</a></li><li><a href="/hdjl/">互动交流</a></li>
<li><a href="/zjmx/">走进某某</a></li></ul>
<div class="search"><form action="/search"><input name="q"><button>搜索</button></form></div></div>
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt;
<a href="/zwgk/tzgg/">通知公告</a></div>
<div class="wrap">
<div class="side"><h3>通知公告</h3><ul>
<li><a href="/zwgk/tzgg/1.html">关于做好防汛工作的通知</a></li>
<li><a href="/zwgk/tzgg/2.html">关于印发工作要点的通知</a></li>
<li><a href="/zwgk/tzgg/3.html">县政府常务会议纪要</a></li>
<li><a href="/zwgk/tzgg/4.html">关于公布行政许可事项清单的公告</a></li></ul></div>
<div class="xl-main">
<h2 class="xl-tit">关于开展2024年度政务公开工作考核的通知</h2>
<div class="xl-info">来源：县政府办公室　发布时间：2024-03-15 09:30
浏览次数：<span>356</span></div>
<div class="xl-txt">
<p>各乡镇人民政府，县直各单位：</p>
<p>为深入贯彻落实《中华人民共和国政府信息公开条例》，进一步提升全县政务公开工作水平，经县政府同意，
决定开展2024年度政务公开工作考核。现将有关事项通知如下：</p>
<p>一、考核对象。各乡镇人民政府、县直各部门。</p>
<p>二、考核内容。主要包括主动公开、依申请公开、政策解读、回应关切、平台建设、监督保障等六个方面。</p>
<p><img src="/u/2024/03/kaohe.png" alt="考核流程图"></p>
<table><tr><th>项目</th><th>分值</th></tr><tr><td>主动公开</td><td>30</td></tr>
<tr><td>依申请公开</td><td>20</td></tr></table>
<p>联系人：王某某，联系电话：0354-1234567。</p>
<p style="text-align:right">某某县人民政府办公室</p><p style="text-align:right">2024年3月15日</p>
</div>
<div class="xl-share">分享到：<a href="#">微信</a> <a href="#">微博</a>
【<a href="javascript:window.print()">打印本页</a>】
【<a href="javascript:window.close()">关闭窗口</a>】</div>
</div></div>
<div class="footer"><p><a href="/about">关于我们</a> | <a href="/map">网站地图</a> |
<a href="/contact">联系我们</a></p>
<p>主办单位：某某县人民政府办公室　承办单位：某某县大数据中心</p>
<p>版权所有：某某县人民政府　晋ICP备12345678号　网站标识码：1407000001</p></div>
</body></html>"""
URL = "http://www.example.gov.cn/zwgk/tzgg/202403/t20240315_1.html"
CHROME = ("首页", "政务服务", "关于做好防汛工作的通知", "网站地图", "版权所有", "ICP", "微信")


def test_undeclared_big5_page_is_read_as_big5() -> None:
    data = BIG5_PAGE.encode("big5")  # strict Big5: what a 2000s Taiwanese CMS wrote
    assert b"charset" not in data.lower()
    text, encoding = decode(data, "text/html")
    assert encoding == "big5hkscs" and text == BIG5_PAGE
    article = read_article(data, "text/html", "http://www.example.gov.tw/news.asp?id=113")
    assert article.title == "公告：本府辦理113年度政府網站服務品質檢核作業"
    body = clean(article.title, article.body_html, None).body_text
    assert "檢核項目包括網站內容正確性" in body and "臺北市政府資訊處" in body


def test_undeclared_big5_page_with_little_text_in_much_markup() -> None:
    """Menus, scripts and a long ASCII head before a short notice: still Big5."""
    script = "<script>function menu(i){document.getElementById('m'+i).style.display='';}</script>"
    links = "".join(f'<a href="/news.asp?id={i}" class="list">{i}</a>\n' for i in range(2000))
    page = BIG5_PAGE.replace("</head>", f"{script}\n" * 200 + "</head>")
    page = page.replace("<div id=", links + "<div id=")
    text, encoding = decode(page.encode("big5"), None)
    assert encoding == "big5hkscs" and "服務品質檢核" in text


def test_a_few_undeclared_words_decode_either_way() -> None:
    """Two characters that read as text in both: the tie goes to the mainland's GB18030."""
    assert decode("<p>网站</p>".encode("gbk"))[0] == "<p>网站</p>"
    assert decode("<p>網站內容</p>".encode("big5"))[0] == "<p>網站內容</p>"


def test_undeclared_gbk_page_is_read_as_gbk() -> None:
    data = GBK_PAGE.encode("gbk")
    assert b"charset" not in data.lower()
    text, encoding = decode(data, "text/html")
    assert encoding == "gb18030" and text == GBK_PAGE
    article = read_article(data, "text/html", "http://www.example.gov.cn/zwgk/t20241008_9.html")
    assert article.title == "关于做好2024年秋冬季森林防火工作的通知"
    assert article.published_at is not None and article.published_at.isoformat().startswith(
        "2024-10-08T16:20"
    )
    assert "一律不得携带火种" in article.body_html and "政务公开" not in article.body_html


def test_declared_charset_still_wins_and_utf8_stays_utf8() -> None:
    declared = GBK_PAGE.replace("<head>", '<head><meta charset="gb2312">')
    assert decode(declared.encode("gbk")) == (declared, "gb18030")
    assert decode(BIG5_PAGE.encode("big5"), "text/html; charset=big5")[1] == "big5hkscs"
    assert decode(UNTEMPLATED_PAGE.replace('<meta charset="utf-8">', "").encode()) == (
        UNTEMPLATED_PAGE.replace('<meta charset="utf-8">', ""),
        "utf-8",
    )


def test_page_in_no_template_gets_its_article_not_the_chrome() -> None:
    article = extract_article(UNTEMPLATED_PAGE, URL)
    assert article.title == "关于开展2024年度政务公开工作考核的通知"
    assert article.published_at is not None and article.published_at.isoformat().startswith(
        "2024-03-15T09:30"
    )
    cleaned = clean(article.title, article.body_html, None)
    lines = cleaned.body_text.splitlines()
    assert lines[0] == "各乡镇人民政府，县直各单位："
    assert lines[-2:] == ["某某县人民政府办公室", "2024年3月15日"]
    assert "主要包括主动公开、依申请公开、政策解读" in cleaned.body_text
    assert not [word for word in CHROME if word in cleaned.body_text]
    # The article's own image (absolute now) and table come along.
    assert '<img src="http://www.example.gov.cn/u/2024/03/kaohe.png"' in cleaned.body_html
    assert "<td>依申请公开</td>" in cleaned.body_html


def test_short_notice_in_no_template_is_not_swapped_for_the_menus() -> None:
    short = UNTEMPLATED_PAGE.split('<div class="xl-txt">')[0] + (
        '<div class="xl-txt"><p>各单位：请于10月底前报送栏目建设方案。</p></div></div></div>'
        "</body></html>"
    )
    cleaned = clean("通知", extract_article(short, URL).body_html, None)
    assert cleaned.body_text == "各单位：请于10月底前报送栏目建设方案。"


def test_template_pages_keep_the_template_container() -> None:
    article = extract_article(GBK_PAGE, "http://www.example.gov.cn/a.html")
    assert article.body_html.startswith('<div class="TRS_Editor">')
