"""Text-level repairs applied to every text node (and to plain-text submissions).

Each repair is a pure function `str -> str` that records what it changed in a `StepLog`.
"""

from __future__ import annotations

import re
import unicodedata

from services.ingest.cleaning.steps import StepLog

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
SEGMENT_MARKERS = re.compile(r"@@+")
# A converter put the reading after each character: 發(fā)展(zhǎn). Readings are lowercase
# Latin with tone marks; requiring a CJK character just before avoids touching "(a)" lists.
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
PINYIN = re.compile(rf"(?<=[{CJK}])[(（]([a-z{TONED}]{{1,7}})[)）]")
REPLACEMENT = "\ufffd"
# Machine-translation debris between Chinese characters, e.g. "信息k15]公开".
STRAY_TOKEN = re.compile(rf"(?<=[{CJK}，。、；：])\s?[a-z]\d{{1,3}}\]\s?(?=[{CJK}])")
FULLWIDTH_ALNUM = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
ASCII_PAREN_CJK = re.compile(rf"\(([^()\n]*[{CJK}][^()\n]*)\)")
SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200b\ufeff]+")
SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{CJK}，。、；：！？”“）（]) (?=[{CJK}，。、；：！？”“）（])")


SYLLABLE = re.compile(r"[bcdfghjklmnpqrstwxyz]{0,2}h?[aeiouv]+n?g?r?")
ASCII_COMMA_CJK = re.compile(rf"(?<=[{CJK}）》”]),(?=[{CJK}（《“])")


def _has_tone_or_is_syllable(reading: str) -> bool:
    return any(c in TONED for c in reading) or bool(SYLLABLE.fullmatch(reading))


def remove_segment_markers(text: str, log: StepLog) -> str:
    found = SEGMENT_MARKERS.findall(text)
    log.add("segmentation_markers", len(found), "@@")
    return SEGMENT_MARKERS.sub("", text)


def remove_pinyin_readings(text: str, log: StepLog) -> str:
    def drop(match: re.Match[str]) -> str:
        if not _has_tone_or_is_syllable(match.group(1)):
            return match.group(0)
        log.add("pinyin_readings", 1, match.group(0))
        return ""

    return PINYIN.sub(drop, text)


def remove_replacement_chars(text: str, log: StepLog) -> str:
    log.add("replacement_characters", text.count(REPLACEMENT), "U+FFFD")
    return text.replace(REPLACEMENT, "")


def remove_stray_tokens(text: str, log: StepLog) -> str:
    def drop(match: re.Match[str]) -> str:
        log.add("stray_tokens", 1, match.group(0).strip())
        return ""

    return STRAY_TOKEN.sub(drop, text)


def normalise_width(text: str, log: StepLog) -> str:
    """Full-width Latin letters and digits → ASCII; ASCII parentheses around Chinese → （）."""
    count = len(FULLWIDTH_ALNUM.findall(text))
    text = FULLWIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    log.add("fullwidth_alnum", count)
    parens = len(ASCII_PAREN_CJK.findall(text)) + len(ASCII_COMMA_CJK.findall(text))
    log.add("fullwidth_punctuation", parens)
    return ASCII_COMMA_CJK.sub("，", ASCII_PAREN_CJK.sub(r"（\1）", text))


def normalise_spaces(text: str, log: StepLog) -> str:
    """Runs of (full-width, non-breaking, zero-width) spaces → one space; none between hanzi."""
    collapsed = SPACES.sub(" ", text)
    collapsed = SPACE_BETWEEN_CJK.sub("", collapsed)
    if collapsed != text:
        log.add("whitespace", 1)
    return collapsed


REPAIRS = (
    remove_segment_markers,
    remove_pinyin_readings,
    remove_replacement_chars,
    remove_stray_tokens,
    normalise_width,
    normalise_spaces,
)


def repair(text: str, log: StepLog) -> str:
    """Every text-level repair in order; never drops a Chinese character that is substantive."""
    for step in REPAIRS:
        text = step(text, log)
    return text
