"""Folding text so that the usual evasions do not hide a term, while keeping original offsets.

Folding: full-width ASCII → ASCII, Latin letters lower-cased, Traditional → Simplified (OpenCC,
loaded once per process), then spaces, punctuation and symbols removed. `Folded.span` maps a
span of the folded text back to the original string.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

import opencc

from common.chinese import converter

# U+FF01..U+FF5E are the full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
_WIDTH_AND_CASE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH_AND_CASE[0x3000] = 0x20
for _cp in range(ord("A"), ord("Z") + 1):
    _WIDTH_AND_CASE[_cp] = _cp + 32
    _WIDTH_AND_CASE[_cp + 0xFEE0] = _cp + 32

# What an evader inserts between characters: whitespace, ASCII and CJK punctuation, symbols,
# zero-width characters. Letters, digits and CJK ideographs are kept, and so are ★/☆, which
# are part of classification marks (秘密★).
_SKIPPABLE = re.compile(
    r"[\s\u200b-\u200f\u2060\ufeff"
    r"!-/:-@\[-`{-~"
    r"\u00a1-\u00bf\u00d7\u00f7"
    r"\u2000-\u206f\u2190-\u2604\u2607-\u2bff\u3000-\u3003\u3008-\u3020\u30fb\ufe30-\ufe6f"
    r"\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    r"]"
)


def _converter() -> opencc.OpenCC:
    """The OpenCC Traditional → Simplified converter, shared by the process."""
    return converter("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified, guaranteed to keep the length (so offsets stay valid)."""
    converted: str = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    # A phrase rule changed the length: fall back to character-by-character conversion.
    convert = _converter().convert
    return "".join(c if len(s := convert(c)) != 1 else s for c in text)


# Only letters and digits need translating: full-width punctuation is skipped anyway, and
# `str.translate` over a whole CJK text costs more than the automaton scan (see bench/review.py).
_NEEDS_TRANSLATION = re.compile(r"[A-Z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")


def _translate(match: re.Match[str]) -> str:
    return match.group().translate(_WIDTH_AND_CASE)


def fold_chars(text: str) -> str:
    """Width, case and script folding; one output character per input character."""
    return to_simplified(_NEEDS_TRANSLATION.sub(_translate, text))


@dataclass(frozen=True)
class Folded:
    """Folded, compacted text plus what is needed to map its indices back to the original."""

    text: str
    _compact_positions: tuple[int, ...]  # compact index at which each removed char sat

    def original_index(self, compact_index: int) -> int:
        return compact_index + bisect_right(self._compact_positions, compact_index)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the compact span [start, end) (end exclusive, non-empty)."""
        return self.original_index(start), self.original_index(end - 1) + 1


def fold(text: str) -> Folded:
    folded = fold_chars(text)
    removed = [m.start() for m in _SKIPPABLE.finditer(folded)]
    if not removed:
        return Folded(folded, ())
    compact = _SKIPPABLE.sub("", folded)
    return Folded(compact, tuple(pos - rank for rank, pos in enumerate(removed)))


def fold_term(term: str) -> str:
    """A lexicon term folded the same way as the text it is matched against."""
    return fold(unicodedata.normalize("NFC", term.strip())).text
