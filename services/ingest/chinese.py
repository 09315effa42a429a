"""Which script a text is written in, and conversion to Traditional, over `common.chinese`."""

from __future__ import annotations

from common.chinese import converter, idf_table, segment, warm_up
from common.search_tokens import fold

__all__ = ["fold", "idf_table", "script_of", "segment", "to_traditional", "warm_up"]


def to_traditional(text: str) -> str:
    converted: str = converter("s2t").convert(text)
    return converted


def script_of(text: str) -> str:
    """`traditional` when more characters change under t2s than under s2t, else `simplified`."""
    sample = text[:1500]
    trad = sum(a != b for a, b in zip(sample, converter("t2s").convert(sample), strict=False))
    simp = sum(a != b for a, b in zip(sample, converter("s2t").convert(sample), strict=False))
    return "traditional" if trad > simp else "simplified"
