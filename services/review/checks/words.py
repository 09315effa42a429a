"""Word boundaries for short lexicon terms, so 机密 is not found in 有机密封 (有机 / 密封).

A term of one or two characters is accepted only when it stands as a word in the folded text
(jieba, loaded once per process) or sits in a known marker pattern of the original text
(秘密★, 机密★一年, 【机密】, a mark alone on its line). "Stands as a word" means the match does
not cut across words: it is whole words (按/装), or lies inside one word (博彩业, 国家机密,
机密文件 are real hits). Only a match made of pieces of different words is dropped.
Segmentation runs on a small window around a hit, so clean text costs nothing extra.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jieba

from common.chinese import private_tokenizer

SHORT_TERM_CHARS = 2
_WINDOW = 6  # folded characters either side of a hit that jieba sees

_OPEN_CLOSE = dict(zip("【[［〔(（《<", "】]］〕)）》>", strict=True))
_STAR_AFTER = re.compile(r"\s*[★☆*]")


def tokenizer() -> jieba.Tokenizer:
    """jieba's dictionary (≈0.5 s to load): once per process, whoever asks first."""
    return private_tokenizer()


@lru_cache(maxsize=8192)
def _words(window: str) -> tuple[tuple[int, int], ...]:
    # Windows recur (a term is usually met in the same few phrases), segmenting them does not.
    return tuple((a, b) for _, a, b in tokenizer().tokenize(window, HMM=False))


def _boundaries(folded: str, start: int, end: int) -> tuple[set[int], list[tuple[int, int]]]:
    """Word starts/ends near [start, end) and the words overlapping it, in folded indices."""
    left = max(0, start - _WINDOW)
    window = folded[left : min(len(folded), end + _WINDOW)]
    words = [(a + left, b + left) for a, b in _words(window)]
    edges = {a for a, _ in words} | {b for _, b in words}
    return edges, [(a, b) for a, b in words if a < end and b > start]


def stands_as_word(folded: str, start: int, end: int) -> bool:
    """False when the span [start, end) of the folded text is made of pieces of other words."""
    edges, overlapping = _boundaries(folded, start, end)
    if len(overlapping) == 1:
        return True  # inside one word: a compound built on the term
    return start in edges and end in edges


def in_marker_pattern(text: str, start: int, end: int) -> bool:
    """A classification-mark layout around original span [start, end): ★ after, brackets, or
    alone on its line — true whatever jieba makes of the neighbours."""
    if _STAR_AFTER.match(text, end):
        return True
    before = text[:start].rstrip(" \t\u3000")
    after = text[end:].lstrip(" \t\u3000")
    if before and after and _OPEN_CLOSE.get(before[-1]) == after[0]:
        return True
    return (not before or before.endswith("\n")) and (not after or after.startswith("\n"))


def short_term_accepted(
    text: str, folded: str, span: tuple[int, int], folded_span: tuple[int, int]
) -> bool:
    """Whether a hit of a short term (≤ 2 folded characters) is a real occurrence."""
    return in_marker_pattern(text, *span) or stands_as_word(folded, *folded_span)
