"""Short terms (≤ 2 characters) match only as words or in marker patterns, evasions still fold."""

from __future__ import annotations

import pytest

from services.review.checks.lexicon import LexiconData, Matcher, parse_entries
from services.review.checks.words import in_marker_pattern, stands_as_word, tokenizer


def matcher(kind: str, text: str) -> Matcher:
    entries = tuple(parse_entries(kind, text))
    return Matcher([LexiconData("t", 1, kind, kind, "block", entries)])


MARKS = matcher("classification", "秘密★\n机密\n绝密\n内部资料\n不予公开")
TYPOS = matcher("typo", "按装 => 安装\n既使 => 即使")


@pytest.mark.parametrize(
    "text",
    [
        "采用有机密封材料",  # 有机 / 密封
        "有机密封圈老化",
        "杜绝密码泄露",  # 杜绝 / 密码
        "拒绝密谈",
        "有機密封圈",  # Traditional folds, still two other words
        "有机 密封",  # an inserted space does not make a mark
        "有 机 密 封",
    ],
)
def test_short_marks_inside_other_words_are_not_hits(text: str) -> None:
    assert MARKS.find(text) == []


@pytest.mark.parametrize(
    "text, found",
    [
        ("本件为机密。", "机密"),
        ("涉及国家机密", "机密"),  # inside one word: a compound built on the mark
        ("这是机密文件", "机密"),
        ("绝密档案", "绝密"),
        ("机密★一年", "机密"),
        ("有机密★一年", "机密"),  # the ★ pattern wins over the segmentation
        ("【机密】会议纪要", "机密"),
        ("机密\n关于召开会议的通知", "机密"),  # alone on its line, as marks are printed
        ("机 密 文件", "机 密"),  # inserted spaces
        ("绝\u200b密档案", "绝\u200b密"),  # zero-width space
        ("本件屬於機密", "機密"),  # Traditional
        ("秘密★1年", "秘密★"),
    ],
)
def test_real_marks_are_found_with_original_spans(text: str, found: str) -> None:
    hits = MARKS.find(text)
    assert [h.text for h in hits] == [found]
    assert text[hits[0].start : hits[0].end] == found


def test_short_typos_follow_the_same_rule() -> None:
    assert TYPOS.find("按装修标准施工") == []  # 按 / 装修
    assert [f.text for f in TYPOS.find("请按装软件")] == ["按装"]
    assert [f.suggestion for f in TYPOS.find("既使如此")] == ["即使"]


def test_longer_terms_are_not_segmented() -> None:
    assert [f.text for f in MARKS.find("本件为内部资料")] == ["内部资料"]
    assert [f.text for f in MARKS.find("此件不予公开")] == ["不予公开"]


def test_boundary_helpers() -> None:
    assert not stands_as_word("有机密封", 1, 3)
    assert stands_as_word("按装软件", 0, 2)  # two one-character words, aligned
    assert stands_as_word("博彩业", 0, 2)
    assert in_marker_pattern("（机密）", 1, 3)
    assert in_marker_pattern("  机密  \n正文", 2, 4)
    assert not in_marker_pattern("有机密封", 1, 3)
    assert tokenizer() is tokenizer()  # the dictionary is loaded once per process
