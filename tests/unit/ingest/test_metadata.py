"""文号 in every real form, dates, agency, summary, topic, script, disclosure, 索引号."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.ingest import docnumber
from services.ingest.chinese import fold, script_of, segment
from services.ingest.cleaning import clean
from services.ingest.indexno import format_index_no, org_code
from services.ingest.metadata import extract, find_dates, summarise

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ingest"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("国办发〔2017〕47号", "国办发〔2017〕47号"),
        ("国办发[2015]12号", "国办发〔2015〕12号"),
        ("国办发［2015］12号", "国办发〔2015〕12号"),
        ("京政办发(2015)13号", "京政办发〔2015〕13号"),
        ("苏政办发（2017） 96号", "苏政办发〔2017〕96号"),
        ("渝府辦發〔2019〕64號", "渝府办发〔2019〕64号"),
        ("國辦發﹝2017﹞47號", "国办发〔2017〕47号"),
        ("根据国办发〔2014〕57号", "国办发〔2014〕57号"),
        ("晋市政发【2006】 5 号", "晋市政发〔2006〕5号"),
    ],
)
def test_doc_number_variants_have_one_canonical_form(written: str, canonical: str) -> None:
    assert docnumber.canonical(written) == canonical


def analyse(title: str, raw: str, html: bool = False, **given: str):  # type: ignore[no-untyped-def]
    cleaned = clean(title, raw if html else None, None if html else raw)
    meta = extract(
        cleaned.title,
        cleaned.body_text,
        segment(fold(cleaned.body_text)),
        segment(fold(cleaned.title)),
        given_doc_number=given.get("doc_number"),
    )
    return cleaned, meta


def test_policy_page_metadata() -> None:
    page = (FIXTURES / "policy_page.html").read_text(encoding="utf-8")
    body = page[page.index('<div id="zoom"') : page.index('<div class="qr">')]
    cleaned, meta = analyse(
        "省政府办公厅关于进一步加强政府网站信息内容建设的实施意见", body, html=True
    )
    assert meta.doc_number == "苏政办发〔2017〕96号"  # alone on the first line: its own 文号
    assert meta.cites == ["国办发〔2014〕57号", "国办发〔2017〕47号"]
    assert meta.repeals == ["苏政办发〔2015〕12号"]
    assert meta.agency == "江苏省人民政府办公厅" and meta.written_at == date(2017, 6, 10)
    assert meta.disclosure == "主动公开" and meta.topic == "政务公开"
    assert len(meta.summary) <= 100 and meta.summary.startswith("为贯彻落实")
    assert "网站" in meta.keywords


def test_traditional_document_metadata() -> None:
    raw = (FIXTURES / "traditional_pinyin.txt").read_text(encoding="utf-8")
    cleaned, meta = analyse("重慶市人民政府辦公廳關於進一步加強政府網站管理的通知", raw)
    assert meta.doc_number == "渝府办发〔2019〕64号"
    assert set(meta.cites) == {"国办发〔2017〕47号", "国办发〔2014〕57号"}
    assert meta.agency == "重慶市人民政府辦公廳" and meta.written_at == date(2019, 5, 30)
    assert script_of(cleaned.body_text) == "traditional"
    assert script_of("重庆市人民政府办公厅关于进一步加强政府网站管理的通知") == "simplified"


def test_dates_in_every_written_form() -> None:
    found = [
        d for _, d in find_dates("二〇一五年三月十日印发，2015年5月30日起施行，2015-06-01公布")
    ]
    assert found == [date(2015, 3, 10), date(2015, 5, 30), date(2015, 6, 1)]


def test_summary_is_at_most_100_characters() -> None:
    text = "各单位：\n" + "这是一个很长的句子，" * 30 + "。"
    assert len(summarise(text)) <= 100


def test_index_number_pattern() -> None:
    assert format_index_no("{org}/{year}-{serial:05d}", "000014349", 2017, 123) == (
        "000014349/2017-00123"
    )
    assert org_code("某某局", {"某某局": "11110000"}) == "11110000"
    assert len(org_code("江苏省人民政府办公厅", {})) == 9
