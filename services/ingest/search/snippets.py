"""Highlighted snippets: a window of the body around the first hit, hits wrapped in <mark>."""

from __future__ import annotations

import html

from services.ingest.chinese import fold
from services.ingest.search.tokens import Term

WINDOW = 60


def highlight(body_text: str, terms: list[Term], window: int = WINDOW) -> str:
    """Escaped text with `<mark>` around every occurrence of a term (found in folded text)."""
    text = body_text.replace("\n", " ")
    folded = fold(text).lower()
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = folded.find(term.text)
        while start != -1:
            spans.append((start, start + len(term.text)))
            start = folded.find(term.text, start + 1)
    spans.sort()
    first = spans[0][0] if spans else 0
    lo = max(0, first - window // 3)
    hi = min(len(text), lo + window * 2)
    out, at = [], lo
    for start, end in spans:
        if start < at or start >= hi:
            continue
        out.append(
            html.escape(text[at:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
        )
        at = end
    out.append(html.escape(text[at:hi]))
    return ("…" if lo > 0 else "") + "".join(out) + ("…" if hi < len(text) else "")
