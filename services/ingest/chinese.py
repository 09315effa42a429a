"""Process-wide Chinese text tools: jieba and OpenCC are loaded once and reused.

Loading the jieba dictionary costs ≈0.5 s and OpenCC a few ms; both happen on first use in a
process (never per request or per document), guarded by a lock so concurrent first callers load
once.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

import jieba
import jieba.analyse
import opencc

from common.search_tokens import fold, t2s

_lock = threading.Lock()
jieba.setLogLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    with _lock:
        jieba.initialize()
        return jieba.dt


@lru_cache(maxsize=1)
def idf_table() -> tuple[dict[str, float], float]:
    """jieba's bundled IDF table and its median (the weight of unknown words)."""
    _tokenizer()
    tfidf = jieba.analyse.default_tfidf
    return tfidf.idf_freq, tfidf.median_idf


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def script_of(text: str) -> str:
    """`traditional` when more characters change under t2s than under s2t, else `simplified`."""
    sample = text[:1500]
    trad = sum(a != b for a, b in zip(sample, t2s().convert(sample), strict=False))
    simp = sum(a != b for a, b in zip(sample, _s2t().convert(sample), strict=False))
    return "traditional" if trad > simp else "simplified"


def segment(text: str) -> list[str]:
    """jieba words (precise mode, HMM on) — called once per document at ingest."""
    return _tokenizer().lcut(text)


def warm_up() -> None:
    """Load every dictionary now (a service's startup), so the first request does not pay."""
    _tokenizer()
    idf_table()
    fold("發展")
    to_traditional("发展")
