"""Lexicon parsing and evasion-resistant matching with exact original spans."""

from __future__ import annotations

import pytest

from services.review.checks.lexicon import (
    LexiconData,
    LexiconSyntaxError,
    Matcher,
    parse_entries,
)
from services.review.checks.normalize import fold


def matcher(kind: str, text: str, severity: str = "block", name: str = "t") -> Matcher:
    entries = tuple(parse_entries(kind, text))
    return Matcher([LexiconData(name, 1, kind, kind, severity, entries)])  # type: ignore[arg-type]


GAMBLING = matcher("sensitive", "六合彩\nbet365\n博彩\tgambling")


@pytest.mark.parametrize(
    "text, found",
    [
        ("今晚六合彩开奖", "六合彩"),
        ("今晚六 合 彩开奖", "六 合 彩"),  # inserted spaces
        ("今晚六*合#彩开奖", "六*合#彩"),  # inserted symbols
        ("今晚六，合。彩开奖", "六，合。彩"),  # CJK punctuation
        ("今晚六\u200b合\u200b彩开奖", "六\u200b合\u200b彩"),  # zero-width spaces
        ("访问ＢＥＴ３６５官网", "ＢＥＴ３６５"),  # full-width letters and digits
        ("访问Bet 365官网", "Bet 365"),  # case and space
        ("網上博彩", "博彩"),  # Traditional context
        ("六合彩的繁體：六合綵", "六合彩"),
    ],
)
def test_evasions_are_folded_and_spans_are_original(text: str, found: str) -> None:
    findings = GAMBLING.find(text)
    assert findings, text
    first = findings[0]
    assert first.text == found == text[first.start : first.end]
    assert first.severity == "block"


def test_traditional_term_matches() -> None:
    found = GAMBLING.find("澳門賭場與博彩業")
    assert [f.text for f in found] == ["博彩"]
    trad = matcher("sensitive", "网上赌场").find("請勿進入網上賭場")
    assert [f.text for f in trad] == ["網上賭場"]


def test_every_occurrence_and_negatives() -> None:
    text = "六合彩、博彩；再说一次六合彩。"
    found = GAMBLING.find(text)
    assert [(f.start, f.text) for f in found] == [(0, "六合彩"), (4, "博彩"), (11, "六合彩")]
    assert found[1].category == "gambling" and found[0].category == "sensitive"
    assert GAMBLING.find("六月合唱团彩排，合法经营。") == []
    assert GAMBLING.find("") == []


def test_wording_pairs_carry_suggestions() -> None:
    wording = matcher("wording", "中华人民共合国 => 中华人民共和国\n一带一路战略 → 一带一路倡议")
    found = wording.find("中华人民共合国成立，推进一带一路战略。")
    assert [(f.text, f.suggestion) for f in found] == [
        ("中华人民共合国", "中华人民共和国"),
        ("一带一路战略", "一带一路倡议"),
    ]
    assert wording.find("中华人民共和国，一带一路倡议") == []
    typo = matcher("typo", "再接再励\t再接再厉", severity="warn")
    assert typo.find("要再接再励")[0].severity == "warn"


def test_classification_star_is_not_folded_away() -> None:
    marks = matcher("classification", "秘密★\n机密")
    assert [f.text for f in marks.find("秘密★ 机密文件")] == ["秘密★", "机密"]
    assert marks.find("这是一个秘密") == []


def test_upload_errors_name_every_bad_line() -> None:
    with pytest.raises(LexiconSyntaxError) as error:
        parse_entries(
            "wording",
            "# 注释\n对 => 错\n只有一边\n\n甲 => 甲\n对 => 另一个\n" + "长" * 70 + " => 短",
        )
    assert [n for n, _ in error.value.problems] == [3, 5, 6, 7]
    with pytest.raises(LexiconSyntaxError) as terms:
        parse_entries("sensitive", "好词\n、、、\n坏 => 词")
    assert [n for n, _ in terms.value.problems] == [2, 3]
    with pytest.raises(LexiconSyntaxError):
        parse_entries("sensitive", "\n# only comments\n")


def test_fold_maps_spans_back() -> None:
    folded = fold("Ａ, B　c")
    assert folded.text == "abc"
    assert folded.span(0, 3) == (0, 6)
    assert folded.span(1, 2) == (3, 4)
