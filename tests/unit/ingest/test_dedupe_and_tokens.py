"""Fingerprints find the same document across scripts and small edits; tokens find substrings."""

from __future__ import annotations

from pathlib import Path

from services.ingest import dedupe
from services.ingest.chinese import to_traditional
from services.ingest.search.tokens import index_grams, query_terms

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ingest"


def test_same_text_in_either_script_has_one_exact_key() -> None:
    text = (FIXTURES / "segmented.txt").read_text(encoding="utf-8").replace("@@", "")
    assert dedupe.exact_key(text) == dedupe.exact_key(to_traditional(text).replace("，", ","))


def test_near_duplicate_is_close_and_a_stranger_is_not() -> None:
    text = (FIXTURES / "segmented.txt").read_text(encoding="utf-8").replace("@@", "")
    edited = text.replace("首都之窗", "首都之窗政务", 1).replace("重要意义", "重大意义", 1)
    a, b = dedupe.normalise(text), dedupe.normalise(edited)
    assert dedupe.jaccard(a, b) > 0.9
    assert dedupe.hamming(dedupe.simhash(a), dedupe.simhash(b)) <= 6
    other = dedupe.normalise(
        "关于开展2018年度安全生产大检查的通知。各乡镇要全面排查隐患，落实整改。"
    )
    assert dedupe.jaccard(a, other) < 0.1
    assert dedupe.hamming(dedupe.simhash(a), dedupe.simhash(other)) > 12


def test_grams_are_a_phrase_of_every_substring() -> None:
    tokens = index_grams("加强政府网站信息内容建设，2015年")
    assert tokens[:3] == ["加强", "强政", "政府"] and "设" in tokens and "2015" in tokens
    # A substring across jieba words (府网) is a phrase of consecutive grams.
    term = query_terms("府网站")[0]
    assert term.grams == ("府网", "网站") and not term.prefix
    joined = " ".join(tokens)
    assert " ".join(term.grams) in joined


def test_query_terms_fold_traditional_and_mark_prefixes() -> None:
    [term] = query_terms("網站")
    assert term.text == "网站" and term.grams == ("网站",)
    [single] = query_terms("站")
    assert single.prefix
    assert len(query_terms("政府 网站")) == 2
    assert query_terms("，。！") == []
