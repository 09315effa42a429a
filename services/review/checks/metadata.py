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
    publish_at: str | None = None  # 定时发布: the moment the item is scheduled to go out


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
    """Dates that contradict each other: published before written, or a scheduled item going
    out before its own 发布日期 (block); unparsable dates (block). A 发布日期 in the future is
    no finding on a scheduled item, and only a warning on an unscheduled draft: the library
    takes it as the schedule when the item is submitted."""
    findings = []
    published, written = _parse(meta.published_at), _parse(meta.written_at)
    scheduled = _parse(meta.publish_at)
    for name, raw, parsed in (
        ("published_at", meta.published_at, published),
        ("written_at", meta.written_at, written),
        ("publish_at", meta.publish_at, scheduled),
    ):
        if raw and parsed is None:
            findings.append(_meta("date.unparsable", "date", "block", name))
    if published and scheduled and published > scheduled:
        hint = "发布日期晚于定时发布时间：请调整其一"
        findings.append(_meta("date.publish_after_schedule", "date", "block", "published_at", hint))
    elif published and published > now and not meta.publish_at:
        hint = "发布日期在未来：提交后将按该时间定时发布"
        findings.append(_meta("date.publish_in_future", "date", "warn", "published_at", hint))
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
