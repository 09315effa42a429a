"""Checks on the item's metadata: dates and completeness per kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.review.checks.types import Finding, Severity

# What each kind must carry besides title and body (DOMAIN §2 core metadata).
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "policy": ("doc_number", "publisher"),
    "interpretation": ("publisher",),
    "notice": ("publisher",),
    "announcement": ("publisher",),
    "news": ("publisher",),
}


@dataclass(frozen=True)
class ItemMeta:
    kind: str
    publisher: str | None
    doc_number: str | None
    written_at: str | None
    published_at: str | None
    summary: str | None = None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _meta(
    rule: str, category: str, severity: Severity, name: str, suggestion: str | None = None
) -> Finding:
    return Finding(rule, category, severity, 0, 0, name, suggestion, "meta")


def find_date_problems(meta: ItemMeta, now: datetime) -> list[Finding]:
    """Publish date not in the future, not before the written date; unparsable dates flagged."""
    findings = []
    published, written = _parse(meta.published_at), _parse(meta.written_at)
    for name, raw, parsed in (
        ("published_at", meta.published_at, published),
        ("written_at", meta.written_at, written),
    ):
        if raw and parsed is None:
            findings.append(_meta("date.unparsable", "date", "block", name))
    if published and published > now:
        findings.append(_meta("date.publish_in_future", "date", "block", "published_at"))
    if published and written and published < written:
        findings.append(_meta("date.publish_before_written", "date", "block", "published_at"))
    return findings


def find_missing_metadata(meta: ItemMeta) -> list[Finding]:
    """Metadata the kind requires (warn: reviewers see it; editors fix it in a new version)."""
    findings = []
    for name in REQUIRED_BY_KIND.get(meta.kind, ()):
        if not (getattr(meta, name) or "").strip():
            findings.append(_meta("completeness.missing", "completeness", "warn", name))
    if meta.summary and len(meta.summary) > 100:
        findings.append(_meta("completeness.summary_too_long", "completeness", "warn", "summary"))
    return findings
