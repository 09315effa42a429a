"""The Weibo rendition: a whole status (teaser, link, the longest marker) within 140 characters,
the link on the account's safe domain, no topic or mention markup, findings for the editor."""

from __future__ import annotations

import pytest

from services.distribute.channels.weibo_render import (
    MARKER_MAX,
    STATUS_LIMIT,
    link_finding,
    marked_link,
    render_weibo,
    status_text,
)
from services.distribute.models import ContentSnapshot

URL = "https://www.sc.gov.cn/province/news/c0001.html"
LONGEST_MARKER = "M" * MARKER_MAX
TEXT = (
    "各市（州）人民政府，省政府各部门：为切实做好春节期间安全生产工作，现将有关事项通知如下。"
    "一、加强组织领导，落实安全责任。二、强化隐患排查，严防事故发生。三、做好应急值守。"
)


def snapshot(
    title: str = "关于做好春节期间安全生产工作的通知",
    text: str = TEXT,
    summary: str | None = None,
    body_html: str = "<p>正文</p>",
) -> ContentSnapshot:
    return ContentSnapshot(
        content_id="c0001",
        version=1,
        content_hash="0" * 64,
        title=title,
        body_html=body_html,
        body_text=text,
        summary=summary,
        kind="notice",
        site="province",
        columns=["province/news"],
        publisher="省政府办公厅",
    )


@pytest.mark.parametrize("title_chars", [1, 10, 30, 50])
@pytest.mark.parametrize("path_chars", [0, 20, 40])
def test_the_whole_status_with_the_longest_marker_fits_140(
    title_chars: int, path_chars: int
) -> None:
    url = f"https://www.sc.gov.cn/{'p' * path_chars}/c0001.html"
    rendered = render_weibo(snapshot(title="标" * title_chars), url)

    assert rendered.findings == ()
    status = status_text(rendered.body, LONGEST_MARKER)
    assert len(status) <= STATUS_LIMIT
    assert status.endswith(f" {url}?k={LONGEST_MARKER}")
    assert rendered.body["link"] == url and url not in rendered.body["teaser"]


def test_the_teaser_is_the_title_then_the_summary_cut_at_a_sentence() -> None:
    rendered = render_weibo(snapshot(), URL)

    teaser = rendered.body["teaser"]
    assert teaser.startswith("【关于做好春节期间安全生产工作的通知】各市（州）人民政府")
    assert teaser.endswith("。")  # a whole sentence, not a broken one
    assert len(status_text(rendered.body, LONGEST_MARKER)) <= STATUS_LIMIT


def test_a_summary_without_a_sentence_end_is_cut_with_an_ellipsis() -> None:
    rendered = render_weibo(snapshot(text="无标点的很长的正文" * 30), URL)

    teaser = rendered.body["teaser"]
    assert teaser.endswith("…")
    assert len(status_text(rendered.body, LONGEST_MARKER)) == STATUS_LIMIT


def test_the_item_summary_is_preferred_and_a_short_one_is_kept_whole() -> None:
    rendered = render_weibo(snapshot(summary="春节期间安全生产要点。"), URL)

    assert rendered.body["teaser"] == "【关于做好春节期间安全生产工作的通知】春节期间安全生产要点。"


def test_a_long_chinese_title_is_a_finding_for_the_editor() -> None:
    title = "关于印发《四川省进一步优化营商环境激发市场主体活力若干措施》的通知" * 3

    rendered = render_weibo(snapshot(title=title), URL)

    [finding] = rendered.findings
    assert (finding.field, finding.code) == ("title", "teaser_cannot_fit")
    assert "缩短标题" in finding.reason


def test_a_title_that_fits_only_without_brackets_goes_bare() -> None:
    budget = STATUS_LIMIT - 1 - len(URL) - len("?k=") - MARKER_MAX
    title = "标" * budget

    rendered = render_weibo(snapshot(title=title), URL)

    assert rendered.findings == () and rendered.body["teaser"] == title
    assert len(status_text(rendered.body, LONGEST_MARKER)) == STATUS_LIMIT


def test_an_item_without_text_is_a_finding() -> None:
    [finding] = render_weibo(snapshot(title="  ", text=""), URL).findings

    assert finding.code == "no_text"


def test_no_topic_and_no_mention_reach_the_status() -> None:
    rendered = render_weibo(
        snapshot(title="#春节#安全提示", text="请关注@四川发布 的#安全生产#提示。＃全角＃也不行。"),
        URL,
    )

    status = status_text(rendered.body, LONGEST_MARKER)
    assert "#" not in status and "＃" not in status and "@" not in status
    assert rendered.body["teaser"].startswith("【春节安全提示】请关注＠四川发布")


def test_the_picture_is_the_first_image_made_absolute() -> None:
    html = '<p>图</p><img src="/uploads/a.jpg"><img src="https://cdn.gov.cn/b.png">'

    assert render_weibo(snapshot(body_html=html), URL).body["picture"] == (
        "https://www.sc.gov.cn/uploads/a.jpg"
    )
    assert render_weibo(snapshot(), URL).body["picture"] is None
    inline = '<img src="data:image/png;base64,AAAA">'
    assert render_weibo(snapshot(body_html=inline), URL).body["picture"] is None


def test_the_marker_joins_an_existing_query_and_drops_a_fragment() -> None:
    assert marked_link("https://a.gov.cn/x.html?p=1#top", "abc") == (
        "https://a.gov.cn/x.html?p=1&k=abc"
    )
    with pytest.raises(ValueError):
        marked_link(URL, "M" * (MARKER_MAX + 1))


@pytest.mark.parametrize(
    ("safe_domain", "url", "ok"),
    [
        ("gov.cn", "https://www.sc.gov.cn/a.html", True),
        ("sc.gov.cn", "https://sc.gov.cn/a.html", True),
        ("SC.gov.cn.", "http://WWW.sc.gov.cn/a.html", True),
        ("sc.gov.cn", "https://evilsc.gov.cn/a.html", False),
        ("sc.gov.cn", "https://sc.gov.cn.evil.com/a.html", False),
        ("sc.gov.cn", "https://www.cd.gov.cn/a.html", False),
        ("", "https://www.sc.gov.cn/a.html", False),
        ("sc.gov.cn", "ftp://www.sc.gov.cn/a.html", False),
    ],
)
def test_the_link_must_be_on_the_safe_domain(safe_domain: str, url: str, ok: bool) -> None:
    finding = link_finding(safe_domain, url)

    assert (finding is None) is ok
    if finding is not None:
        assert (finding.field, finding.code) == ("link", "link_not_on_safe_domain")
