"""Index and query tokens shared by the SQLite (FTS5) and PostgreSQL (tsvector) indexes.

Why two tokenisations (PERF.md): a jieba-only index misses 55–75 % of substrings that cross word
boundaries, and 2-character queries are the common case. So every document is indexed twice:

- `grams`: overlapping character bigrams of each run of hanzi, plus the run's last character
  (so single-character queries and runs ending mid-query still match), and whole Latin/digit
  words. A query of n ≥ 2 hanzi becomes a *phrase* of its n-1 bigrams: an exact-substring match
  with full recall, using the index's positions.
- `words`: jieba words of the folded text (segmented once, at ingest). They add no recall (every
  word is a substring) but rank documents where the query is a whole word above those where it
  merely straddles two words.

Text is folded to Simplified first, so either script finds the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.chinese import fold

RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_QUERY_TERMS = 8


def _run_tokens(run: str, *, trailing: bool) -> list[str]:
    if not HAN.match(run) or len(run) == 1:
        return [run]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    return grams + [run[-1]] if trailing else grams


def index_grams(folded_text: str) -> list[str]:
    """The bigram token stream of a folded, lower-cased text, in order."""
    tokens: list[str] = []
    for run in RUN.findall(folded_text.lower()):
        tokens.extend(_run_tokens(run, trailing=True))
    return tokens


def index_words(words: list[str]) -> list[str]:
    return [w.lower() for w in words if RUN.fullmatch(w.lower())]


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
