"""Index and query tokens shared by the SQLite (FTS5) and PostgreSQL (tsvector) indexes.

Why two tokenisations (docs/ceilings.md): a jieba-only index misses 55–75 % of substrings that
cross word boundaries, and 2-character queries are the common case. So every document is indexed
twice:

- `grams`: overlapping character bigrams of each run of hanzi, plus the run's last character
  (so single-character queries and runs ending mid-query still match), and whole Latin/digit
  words. A query of n ≥ 2 hanzi becomes a *phrase* of its n-1 bigrams: an exact-substring match
  with full recall, using the index's positions.
- `words`: jieba words of the folded text (segmented once, at ingest). They add no recall (every
  word is a substring) but rank documents where the query is a whole word above those where it
  merely straddles two words.

Text is folded to Simplified first, so either script finds the other. The gram tokenizer is
shared with interaction's search (`common/search_tokens.py`); the jieba words are ingest's own.
"""

from __future__ import annotations

from common.search_tokens import RUN, Term, index_grams, query_terms

__all__ = ["Term", "index_grams", "index_words", "query_terms"]


def index_words(words: list[str]) -> list[str]:
    return [w.lower() for w in words if RUN.fullmatch(w.lower())]
