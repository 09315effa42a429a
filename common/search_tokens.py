"""Index and query tokens for Chinese full-text search, the same on SQLite and PostgreSQL.

Chinese has no spaces and the common query is two characters (docs/ceilings.md), and a
jieba-only index misses most substrings that cross word boundaries. So text is indexed as
overlapping character bigrams of each run of hanzi, plus each run's last character
(single-character queries and runs that end mid-query still match), plus whole Latin/digit
words. A query of n ≥ 2 hanzi is a *phrase* of its n-1 bigrams: an exact-substring match with
full recall, using index positions. Text is folded to Simplified first, so either script finds
the other.

Pure functions, shared by every service that indexes text (ingest's library, interaction's
published cases and knowledge base); each service keeps its own tables and SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import opencc

from common.chinese import converter

RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_QUERY_TERMS = 8

__all__ = ["HAN", "MAX_QUERY_TERMS", "RUN", "Term", "fold", "index_grams", "query_terms", "t2s"]


def t2s() -> opencc.OpenCC:
    """The Traditional→Simplified converter, loaded once per process."""
    return converter("t2s")


def fold(text: str) -> str:
    """Simplified folding for search and comparison; same length as the input.

    OpenCC's phrase tables may change length on rare phrases; offsets (snippets, spans) must
    survive folding, so a length change falls back to a character-by-character conversion.
    """
    folded: str = t2s().convert(text)
    if len(folded) == len(text):
        return folded
    convert = t2s().convert
    return "".join(c if len(f := convert(c)) != 1 else f for c in text)


def _run_tokens(run: str, *, trailing: bool) -> list[str]:
    if not HAN.match(run) or len(run) == 1:
        return [run]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    return grams + [run[-1]] if trailing else grams


def index_grams(folded_text: str) -> list[str]:
    """The bigram token stream of a folded text (lower-cased here), in order."""
    tokens: list[str] = []
    for run in RUN.findall(folded_text.lower()):
        tokens.extend(_run_tokens(run, trailing=True))
    return tokens


@dataclass(frozen=True)
class Term:
    """One query term as a phrase of gram tokens; `prefix` marks the last token as a prefix."""

    text: str
    grams: tuple[str, ...]
    prefix: bool


def query_terms(query: str) -> list[Term]:
    """Whitespace separates terms (all must match); each term is an exact-substring phrase."""
    terms = []
    for raw in fold(query).lower().split()[:MAX_QUERY_TERMS]:
        runs = RUN.findall(raw)
        if not runs:
            continue
        grams: list[str] = []
        for i, run in enumerate(runs):
            # A run followed by another one ends where the document's run ends too: its
            # trailing single-character token sits between them in the document's stream.
            grams.extend(_run_tokens(run, trailing=i < len(runs) - 1))
        last = runs[-1]
        prefix = len(last) == 1 or not HAN.match(last)
        terms.append(Term("".join(runs), tuple(grams), prefix))
    return terms
