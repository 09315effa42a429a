"""Runs every machine check over one version of an item and returns its findings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.review.checks.integrity import find_integrity_problems
from services.review.checks.lexicon import Matcher
from services.review.checks.markup import (
    Link,
    extract_links,
    find_accessibility_problems,
    find_hidden_content,
    find_outside_links,
)
from services.review.checks.metadata import ItemMeta, find_date_problems, find_missing_metadata
from services.review.checks.personal import find_personal_data, find_personal_data_in_markup
from services.review.checks.types import FieldName, Finding


class LinkFinder(Protocol):
    """What the broken-link check needs of a link checker (`clients.links.LinkChecker`)."""

    async def find_broken(self, links: list[Link], source: dict[str, str]) -> list[Finding]: ...


@dataclass(frozen=True)
class CheckInput:
    title: str
    body_text: str
    body_html: str
    meta: ItemMeta


def text_checks(matcher: Matcher, text: str, field: FieldName) -> list[Finding]:
    """Lexicons, personal data and integrity over one text field (the hot path of the bench)."""
    return [
        *matcher.find(text, field),
        *find_personal_data(text, field),
        *find_integrity_problems(text, field),
    ]


def run_static_checks(
    item: CheckInput, matcher: Matcher, allowlist: list[str], now: datetime
) -> list[Finding]:
    """Every check that needs no network, in a stable order (field, start, rule)."""
    source = {"body_html": item.body_html, "body_text": item.body_text}
    findings = [
        *text_checks(matcher, item.title, "title"),
        *text_checks(matcher, item.body_text, "body_text"),
        *find_personal_data_in_markup(item.body_html, item.body_text),
        *find_hidden_content(item.body_html),
        *find_accessibility_problems(item.body_html),
        *find_outside_links(extract_links(item.body_html, item.body_text), allowlist, source),
        *find_date_problems(item.meta, now),
        *find_missing_metadata(item.meta),
    ]
    return sort_findings(findings)


async def run_checks(
    item: CheckInput,
    matcher: Matcher,
    allowlist: list[str],
    now: datetime,
    links: LinkFinder | None,
) -> list[Finding]:
    """Static checks plus broken links (when a link checker is configured)."""
    findings = run_static_checks(item, matcher, allowlist, now)
    if links is not None:
        broken = await broken_links(links, item.body_html, item.body_text)
        findings = sort_findings(findings + broken)
    return findings


async def broken_links(links: LinkFinder, body_html: str, body_text: str) -> list[Finding]:
    """The network half of the checks: every link that does not answer (no database needed)."""
    source = {"body_html": body_html, "body_text": body_text}
    return await links.find_broken(extract_links(body_html, body_text), source)


_FIELD_ORDER = {"meta": 0, "title": 1, "body_text": 2, "body_html": 3}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_FIELD_ORDER[f.field], f.start, f.end, f.rule))
