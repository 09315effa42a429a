"""The process's Chinese text tools, loaded once: jieba's dictionary and the OpenCC converters.

jieba's dictionary costs ≈ 0.5 s to load and each OpenCC table a few milliseconds; every service
gets them from here, on first use or at start (`warm_up`), behind a lock so concurrent first
callers load once. Review segments with its own `Tokenizer` instance (`private_tokenizer`) so
the words ingest's keyword extraction sees are never changed by review's lookups.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Literal

import jieba
import jieba.analyse
import opencc

__all__ = [
    "converter",
    "extract_keywords",
    "idf_table",
    "private_tokenizer",
    "segment",
    "shared_tokenizer",
    "warm_up",
]

_lock = threading.Lock()
jieba.setLogLevel(logging.WARNING)


@cache
def converter(config: Literal["t2s", "s2t"]) -> opencc.OpenCC:
    """The OpenCC converter for `config` (Traditional→Simplified or back)."""
    return opencc.OpenCC(config)


@cache
def shared_tokenizer() -> jieba.Tokenizer:
    """jieba's default tokenizer (the one `jieba.analyse` uses), initialised once."""
    with _lock:
        jieba.initialize()
        return jieba.dt


@cache
def private_tokenizer() -> jieba.Tokenizer:
    """A second jieba tokenizer with its own dictionary state, initialised once."""
    with _lock:
        instance = jieba.Tokenizer()
        instance.initialize()
        return instance


@cache
def idf_table() -> tuple[dict[str, float], float]:
    """jieba's bundled IDF table and its median (the weight of unknown words)."""
    shared_tokenizer()
    tfidf = jieba.analyse.default_tfidf
    return tfidf.idf_freq, tfidf.median_idf


def segment(text: str) -> list[str]:
    """jieba words of `text` (precise mode, HMM on)."""
    words: list[str] = shared_tokenizer().lcut(text)
    return words


def extract_keywords(text: str, top: int) -> list[str]:
    """The `top` TF-IDF keywords of `text` by jieba's bundled table."""
    shared_tokenizer()
    tags: list[str] = jieba.analyse.extract_tags(text, topK=top)
    return tags


def warm_up() -> None:
    """Load every dictionary now (a service's start), so the first request does not pay."""
    shared_tokenizer()
    idf_table()
    converter("t2s").convert("發展")
    converter("s2t").convert("发展")
