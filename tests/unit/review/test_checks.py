"""Each machine-check family with positive and negative cases and multiple occurrences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.review.checks.engine import CheckInput, run_static_checks
from services.review.checks.integrity import find_integrity_problems
from services.review.checks.lexicon import Matcher
from services.review.checks.markup import (
    extract_links,
    find_accessibility_problems,
    find_hidden_content,
    find_outside_links,
    host_allowed,
)
from services.review.checks.metadata import ItemMeta, find_date_problems, find_missing_metadata
from services.review.checks.personal import find_personal_data, id_checksum_ok, luhn_ok

NOW = datetime(2024, 6, 1, tzinfo=UTC)
VALID_ID = "11010519491231002X"
VALID_CARD = "6222021234567890128"  # Luhn-valid


def rules(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.rule for f in findings]


def test_id_number_checksum() -> None:
    assert id_checksum_ok(VALID_ID) and not id_checksum_ok("110105194912310021")
    text = f"张三{VALID_ID}，李四{VALID_ID.lower()}，错号110105194912310021。"
    found = find_personal_data(text)
    assert rules(found) == ["personal.id_number", "personal.id_number"]
    assert [text[f.start : f.end] for f in found] == [VALID_ID, VALID_ID.lower()]


def test_bank_cards_by_luhn_and_mobiles() -> None:
    assert luhn_ok(VALID_CARD) and not luhn_ok("6222021234567890127")
    text = f"卡号{VALID_CARD}或6222 0212 3456 7890 128，错卡6222021234567890127，"
    text += "电话13812345678、+86 139-1234-5678，座机010-12345678，12812345678。"
    found = find_personal_data(text)
    assert rules(found) == [
        "personal.bank_card", "personal.bank_card", "personal.mobile", "personal.mobile",
    ]  # fmt: skip
    assert {f.severity for f in found} == {"block"}  # a mobile blocks like an ID number
    assert found[3].text == "+86 139-1234-5678"


def test_email_every_occurrence() -> None:
    found = find_personal_data("联系 a.b@example.com 或 xinxi@beijing.gov.cn；不是邮箱 a@b")
    assert [f.text for f in found] == ["a.b@example.com", "xinxi@beijing.gov.cn"]
    assert [f.severity for f in found] == ["block", "warn"]  # an official mailbox only warns


def test_integrity_problems() -> None:
    text = "政府网站@@信息内容建设@@，發(fā)布網（wǎng）站，乱码锟斤拷和Ã©，替换\ufffd，k15]字。"
    found = find_integrity_problems(text)
    assert rules(found) == [
        "integrity.segmentation_marker", "integrity.segmentation_marker",
        "integrity.pinyin_annotation", "integrity.pinyin_annotation",
        "integrity.mojibake", "integrity.mojibake", "integrity.replacement_char",
    ]  # fmt: skip
    assert found[2].text == "(fā)" and found[2].suggestion == ""
    assert find_integrity_problems("依法(2024)第3号，电子邮件(e-mail)，A(1)。") == []


def test_hidden_content_and_accessibility() -> None:
    html = (
        '<p>正文</p><div style="display: none">365投注官网</div>'
        '<span hidden><a href="http://x.com">x</a></span><p style="color:red">红</p>'
        '<img src="a.png"><img src="b.png" alt="示意图"><img src="c.png" alt="">'
        "<table><tr><td>1</td></tr></table><table><tr><th>项目</th></tr></table>"
    )
    hidden = find_hidden_content(html)
    assert [f.text for f in hidden] == [
        '<div style="display: none">365投注官网</div>',
        '<span hidden><a href="http://x.com">x</a></span>',
    ]
    access = find_accessibility_problems(html)
    assert rules(access) == [
        "accessibility.img_alt", "accessibility.img_alt", "accessibility.table_headers",
    ]  # fmt: skip
    assert html[access[0].start : access[0].end] == '<img src="a.png">'


def test_links_outside_allowlist() -> None:
    html = (
        '<a href="https://www.gov.cn/a">国务院</a><a href="http://ads.example.com/x">广告</a>'
        '<img src="https://cdn.beijing.gov.cn/i.png" alt="图"><a href="/relative">站内</a>'
    )
    text = "详见 https://shop.example.net/buy?id=1。和 http://www.sc.gov.cn/x"
    links = extract_links(html, text)
    assert [link.url for link in links] == [
        "https://www.gov.cn/a", "http://ads.example.com/x", "https://cdn.beijing.gov.cn/i.png",
        "https://shop.example.net/buy?id=1", "http://www.sc.gov.cn/x",
    ]  # fmt: skip
    found = find_outside_links(links, ["gov.cn"], {"body_html": html, "body_text": text})
    assert [(f.field, f.text) for f in found] == [
        ("body_html", "http://ads.example.com/x"),
        ("body_text", "https://shop.example.net/buy?id=1"),
    ]
    assert not host_allowed("http://gov.cn.evil.com/", ["gov.cn"])
    assert host_allowed("http://GOV.CN/", ["gov.cn"])


def test_dates() -> None:
    def meta(written: str | None, published: str | None) -> ItemMeta:
        return ItemMeta("notice", "办公厅", None, written, published)

    assert find_date_problems(meta("2024-05-01", "2024-05-02"), NOW) == []
    future = meta(None, "2024-07-01T08:00:00+08:00")
    [in_future] = find_date_problems(future, NOW)
    assert (in_future.rule, in_future.severity) == ("date.publish_in_future", "warn")
    scheduled = replace(future, publish_at="2024-07-01T00:00:00+00:00")  # the same moment
    assert find_date_problems(scheduled, NOW) == []
    scheduled = replace(future, publish_at="2024-06-30T08:00:00+08:00")  # a day before its date
    assert [(f.rule, f.severity) for f in find_date_problems(scheduled, NOW)] == [
        ("date.publish_after_schedule", "block")
    ]
    assert rules(find_date_problems(meta("2024-05-10", "2024-05-01"), NOW)) == [
        "date.publish_before_written"
    ]
    assert rules(find_date_problems(meta("昨天", None), NOW)) == ["date.unparsable"]


def test_completeness_per_kind() -> None:
    policy = ItemMeta("policy", "省政府办公厅", None, None, None)
    assert [f.text for f in find_missing_metadata(policy)] == ["doc_number"]
    complete = ItemMeta("policy", "省政府办公厅", "川府发〔2024〕1号", None, None)
    assert find_missing_metadata(complete) == []
    assert [f.text for f in find_missing_metadata(ItemMeta("news", " ", None, None, None))] == [
        "publisher"
    ]


@pytest.mark.parametrize("field", ["title", "body_text"])
def test_engine_reports_fields_and_order(field: str) -> None:
    body = "手机13812345678，@@" if field == "body_text" else "正文"
    title = "标题@@" if field == "title" else "标题"
    item = CheckInput(title, body, f"<p>{body}</p>", ItemMeta("news", "办", None, None, None))
    found = run_static_checks(item, Matcher([]), ["gov.cn"], NOW)
    assert {f.field for f in found} == {field}
    assert found == sorted(found, key=lambda f: f.start)


def test_personal_data_only_the_html_carries_blocks_at_its_html_offset() -> None:
    html = '<p>请联系<a href="mailto:zs@qq.com" title="13812345678">经办人</a>，电话13912345678</p>'
    text = "请联系经办人，电话13912345678"
    item = CheckInput("标题", text, html, ItemMeta("news", "办", None, None, None))
    found = [
        f for f in run_static_checks(item, Matcher([]), ["gov.cn"], NOW) if f.field == "body_html"
    ]
    assert [(f.rule, f.severity, html[f.start : f.end]) for f in found] == [
        ("personal.email", "block", "zs@qq.com"),
        ("personal.mobile", "block", "13812345678"),
    ]  # the mobile the text shows is reported on body_text, not twice
