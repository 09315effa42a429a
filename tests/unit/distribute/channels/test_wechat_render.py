"""An item rendered as a WeChat article: the allowed subset, images to re-host, findings."""

from __future__ import annotations

from typing import Any

from services.distribute.channels.wechat_render import render_wechat
from services.distribute.models import ContentSnapshot

ARTICLE = "https://www.sc.gov.cn/province/news/c0001.html"


def snapshot(**overrides: Any) -> ContentSnapshot:
    values: dict[str, Any] = {
        "content_id": "c0001",
        "version": 1,
        "content_hash": "0" * 64,
        "title": "关于做好春季森林防火工作的通知",
        "body_html": "<p>各市（州）人民政府：</p><p>现就有关事项通知如下。</p>",
        "body_text": "各市（州）人民政府：现就有关事项通知如下。",
        "kind": "notice",
        "site": "province",
        "columns": ["province/news"],
        "publisher": "省应急管理厅",
        "author": "省应急管理厅",
    }
    return ContentSnapshot(**(values | overrides))


def test_the_body_has_the_draft_fields_and_links_to_the_portal() -> None:
    rendered = render_wechat(snapshot(), ARTICLE)
    assert rendered.platform == "wechat" and rendered.findings == ()
    body = rendered.body
    assert body["title"] == "关于做好春季森林防火工作的通知" and body["author"] == "省应急管理厅"
    assert body["content_source_url"] == ARTICLE
    assert body["need_open_comment"] == 0 and body["only_fans_can_comment"] == 0
    assert body["images"] == [] and body["cover"] is None
    assert body["content"] == "<p>各市（州）人民政府：</p><p>现就有关事项通知如下。</p>"
    assert body["digest"] == "各市（州）人民政府：现就有关事项通知如下。"
    assert rendered.variant_hash == render_wechat(snapshot(), ARTICLE).variant_hash


def test_scripts_styles_frames_forms_and_handlers_are_removed() -> None:
    raw = (
        '<p onclick="steal()" style="color:red">正文<script>alert(1)</script></p>'
        "<style>p{display:none}</style><iframe src='https://evil.example/'>框架</iframe>"
        '<form action="/x"><input name="q"><textarea>表单内容</textarea></form>'
        '<a href="javascript:alert(1)">坏链接</a><img src="javascript:alert(1)">'
        '<img src="data:image/png;base64,AAAA"><object data="x.swf"></object>'
    )
    content = render_wechat(snapshot(body_html=raw), ARTICLE).body["content"]
    for gone in ("script", "alert", "style", "iframe", "框架", "form", "input", "表单内容",
                 "onclick", "javascript", "data:", "object", "<img"):  # fmt: skip
        assert gone not in content, gone
    assert content.startswith("<p>正文</p>") and "坏链接" in content


def test_images_are_listed_in_order_made_absolute_and_the_first_is_the_cover() -> None:
    raw = (
        '<p><img src="/uploads/a.png" alt="图一"></p><p><img src="https://img.sc.gov.cn/b.jpg"></p>'
        '<p><img src="/uploads/a.png"></p>'
    )
    body = render_wechat(snapshot(body_html=raw), ARTICLE).body
    assert body["images"] == ["https://www.sc.gov.cn/uploads/a.png", "https://img.sc.gov.cn/b.jpg"]
    assert body["cover"] == "https://www.sc.gov.cn/uploads/a.png"
    assert 'src="https://www.sc.gov.cn/uploads/a.png"' in body["content"]


def test_the_digest_is_the_summary_else_the_text_cut_to_120_characters() -> None:
    assert render_wechat(snapshot(summary="概述 "), ARTICLE).body["digest"] == "概述"
    long = render_wechat(snapshot(body_text="防火" * 100), ARTICLE)
    assert len(long.body["digest"]) == 120 and long.body["digest"].endswith("…")
    assert long.findings == ()


def codes(**overrides: Any) -> set[str]:
    return {finding.code for finding in render_wechat(snapshot(**overrides), ARTICLE).findings}


def test_a_title_over_32_characters_is_a_finding_in_chinese() -> None:
    assert codes(title="字" * 32) == set()
    [finding] = render_wechat(snapshot(title="字" * 33), ARTICLE).findings
    assert (finding.field, finding.code) == ("title", "title_too_long")
    assert "32" in finding.reason and "33" in finding.reason


def test_content_size_limits_count_after_sanitising() -> None:
    assert codes(body_html="<p>" + "字" * 19_990 + "</p>") == set()
    assert codes(body_html="<p>" + "字" * 19_993 + "</p>") == {"content_too_long"}
    # scripts do not count: they are removed first
    padded = "<p>正文</p><script>" + "x" * 50_000 + "</script>"
    assert codes(body_html=padded) == set()
    assert "content_too_large" in codes(body_html="<p>" + "字" * 340_000 + "</p>")


def test_empty_content_is_a_finding() -> None:
    assert codes(body_html="<script>alert(1)</script><p> </p>") == {"content_empty"}
    assert codes(body_html='<img src="https://img.sc.gov.cn/a.png">') == set()
