"""Cleaning real dirt without losing substantive text, and flagging defacement."""

from __future__ import annotations

from pathlib import Path

from services.ingest.cleaning import clean

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ingest"


def steps(cleaned) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {s["step"]: s["count"] for s in cleaned.steps}


def test_page_chrome_junk_and_scripts_go_the_article_stays() -> None:
    page = (FIXTURES / "policy_page.html").read_text(encoding="utf-8")
    body = page[page.index('<div id="d1">') : page.index('<div class="footer">')]
    body += page[page.index('<div class="footer">') :]
    cleaned = clean("实施意见", body, None)
    text = cleaned.body_text
    for chrome in ("扫一扫", "字体", "浏览次数", "打印本页", "相关阅读", "Produced By", "当前位置"):
        assert chrome not in text, chrome
    assert "onclick" not in cleaned.body_html and "javascript:" not in cleaned.body_html
    assert "<script" not in cleaned.body_html and 'id="r81723"' not in cleaned.body_html
    # Every substantive paragraph survives, signature included.
    for kept in ("各市、县（市、区）人民政府", "同步审签", "12小时内转载", "江苏省人民政府办公厅"):
        assert kept in text, kept
    recorded = steps(cleaned)
    assert recorded["page_chrome"] >= 5 and recorded["empty_markup"] >= 5
    assert recorded["sanitize"] >= 2 and recorded["related_links"] == 1
    assert cleaned.findings == []


def test_segmentation_markers_brackets_and_spaces() -> None:
    raw = (FIXTURES / "segmented.txt").read_text(encoding="utf-8")
    cleaned = clean("北京市人民政府办公厅关于加强政府网站信息内容建设的实施意见", None, raw)
    assert "@@" not in cleaned.body_text
    assert "（国办发[2014] 57号）" in cleaned.body_text  # brackets normalised, 文号 kept as written
    assert "各区、县人民政府，市政府各委办局，各市属机构:" in cleaned.body_text
    assert "（一）建立健全协同联动工作机制" in cleaned.body_text
    assert steps(cleaned)["segmentation_markers"] > 40
    assert cleaned.body_html.startswith("<p>各区、县人民政府")


def test_pinyin_readings_replacement_chars_and_stray_tokens() -> None:
    raw = (FIXTURES / "traditional_pinyin.txt").read_text(encoding="utf-8")
    cleaned = clean("重慶市人民政府辦公廳關於進一步加強政府網站管理的通知", None, raw)
    assert "推動全市政府網站發展，提升網站服務能力" in cleaned.body_text
    assert "\ufffd" not in cleaned.body_text and "k15]" not in cleaned.body_text
    assert "更新信息，新媒體賬號" in cleaned.body_text
    recorded = steps(cleaned)
    assert recorded["pinyin_readings"] == 3
    assert recorded["replacement_characters"] == 1 and recorded["stray_tokens"] == 1


def test_defacement_is_flagged_with_spans_not_removed() -> None:
    raw = (FIXTURES / "defaced_page.html").read_text(encoding="utf-8")
    cleaned = clean("365体育投注官网关于做好2018年政府信息公开工作的通知", raw, None)
    rules = {(f.rule, f.where) for f in cleaned.findings}
    assert ("gambling", "title") in rules and ("gambling", "text") in rules
    assert ("hidden_link", "raw") in rules
    text_spans = [f for f in cleaned.findings if f.where == "text"]
    for span in text_spans:
        assert cleaned.body_text[span.start : span.end] == span.text
    assert any("365投注官网" in f.text for f in text_spans)  # the forged signature
    hidden = [f for f in cleaned.findings if f.rule == "hidden_link"]
    assert [h.text for h in hidden] == ["澳门葡京娱乐城", "百家乐真人视讯"]
    assert all(raw[h.start : h.end] == h.text for h in hidden)
    # Visible text is never silently dropped: the injected signature is still there to see.
    assert "365投注官网办公室" in cleaned.body_text


def test_a_document_about_fighting_gambling_is_not_spam() -> None:
    text = "各地要依法严厉打击网络赌博违法犯罪活动，加强对涉赌网站的监测和处置。"
    assert clean("关于打击网络赌博的通知", None, text).findings == []
