"""Lexicons as data: parsing an upload (line by line, refusing with the line number) and the
Aho-Corasick matcher built once per set of lexicon versions.

Kinds: `sensitive` (terms), `classification` (marks that route to the 保密 stage), `wording`
(serious wording errors, wrong → right, block) and `typo` (错别字, wrong → right, warn).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from services.review.checks.normalize import fold, fold_term
from services.review.checks.types import FieldName, Finding, Severity
from services.review.checks.words import SHORT_TERM_CHARS, short_term_accepted

TERM_KINDS = ("sensitive", "classification")
PAIR_KINDS = ("wording", "typo")
KINDS = TERM_KINDS + PAIR_KINDS
DEFAULT_SEVERITY: dict[str, Severity] = {
    "sensitive": "block",
    "classification": "block",
    "wording": "block",
    "typo": "warn",
}
MAX_TERM_CHARS = 64
_PAIR_SEPARATOR = re.compile(r"\s*(?:=>|→|\t)\s*")


@dataclass(frozen=True)
class Entry:
    """One line of a lexicon: a term (or a wrong form) and, for pairs, its correction."""

    term: str
    suggestion: str | None = None
    category: str | None = None


class LexiconSyntaxError(ValueError):
    """An upload with bad lines; `problems` is [(line number, reason)], 1-based."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} malformed line(s)")
        self.problems = problems


def parse_entries(kind: str, text: str) -> list[Entry]:
    """Parse an upload: one entry per line, blank lines and `#` comments ignored.

    Term kinds: `term` or `term<TAB>category`. Pair kinds: `wrong => right` (also `→` or a tab).
    Raises `LexiconSyntaxError` listing every bad line; an upload is all or nothing.
    """
    entries: list[Entry] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entry = _parse_pair(line) if kind in PAIR_KINDS else _parse_term(line)
        except ValueError as error:
            problems.append((number, str(error)))
            continue
        key = fold_term(entry.term)
        if key in seen:
            problems.append((number, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = number
        entries.append(entry)
    if problems:
        raise LexiconSyntaxError(problems)
    if not entries:
        raise LexiconSyntaxError([(0, "no entries")])
    return entries


def _check_term(term: str) -> str:
    if len(term) > MAX_TERM_CHARS:
        raise ValueError(f"longer than {MAX_TERM_CHARS} characters")
    if not fold_term(term):
        raise ValueError("term has no letters, digits or characters left after folding")
    return term


def _parse_term(line: str) -> Entry:
    if "=>" in line or "→" in line:
        raise ValueError("a term list takes one term per line, not a wrong => right pair")
    term, _, category = line.partition("\t")
    return Entry(term=_check_term(term.strip()), category=category.strip() or None)


def _parse_pair(line: str) -> Entry:
    parts = _PAIR_SEPARATOR.split(line)
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ValueError("expected `wrong => right`")
    wrong, right = (_check_term(p.strip()) for p in parts)
    if fold_term(wrong) == fold_term(right):
        raise ValueError("wrong and right forms are the same")
    return Entry(term=wrong, suggestion=right)


@dataclass(frozen=True)
class LexiconData:
    """One version of one lexicon, as the matcher needs it."""

    name: str
    version: int
    kind: str
    category: str
    severity: Severity
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class _Payload:
    rule: str
    category: str
    severity: Severity
    suggestion: str | None


class Matcher:
    """One Aho-Corasick automaton over every active lexicon; immutable once built."""

    def __init__(self, lexicons: Iterable[LexiconData]) -> None:
        self.lexicons = tuple(lexicons)
        self.key = tuple((lex.name, lex.version) for lex in self.lexicons)
        automaton = ahocorasick.Automaton()
        payloads: dict[str, list[_Payload]] = {}
        for lex in self.lexicons:
            for entry in lex.entries:
                folded = fold_term(entry.term)
                payloads.setdefault(folded, []).append(_payload(lex, entry))
        for folded, items in payloads.items():
            automaton.add_word(folded, (len(folded), tuple(items)))
        self.size = len(payloads)
        if payloads:
            automaton.make_automaton()
        self._automaton = automaton if payloads else None

    def find(self, text: str, field: FieldName = "body_text") -> list[Finding]:
        """Every occurrence of every term in `text`, evasions folded away, original spans."""
        if self._automaton is None or not text:
            return []
        folded = fold(text)
        findings = []
        for end_index, (length, items) in self._automaton.iter(folded.text):
            compact = (end_index - length + 1, end_index + 1)
            start, end = folded.span(*compact)
            if length <= SHORT_TERM_CHARS and not short_term_accepted(
                text, folded.text, (start, end), compact
            ):
                continue  # e.g. 机密 inside 有机密封: pieces of two other words
            for p in items:
                findings.append(
                    Finding(
                        p.rule,
                        p.category,
                        p.severity,
                        start,
                        end,
                        text[start:end],
                        p.suggestion,
                        field,
                    )
                )
        return findings


def _payload(lex: LexiconData, entry: Entry) -> _Payload:
    return _Payload(
        rule=f"{lex.kind}:{lex.name}",
        category=entry.category or lex.category,
        severity=lex.severity,
        suggestion=entry.suggestion,
    )
