"""RSS / Atom entries as documents (feedparser does the format work)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser


@dataclass
class Entry:
    key: str
    title: str
    body_html: str
    link: str | None
    published_at: datetime | None


def entries(body: bytes) -> list[Entry]:
    """Every entry with a title and some content; a feed that does not parse has none."""
    parsed = feedparser.parse(body)
    found = []
    for entry in parsed.entries:
        content = entry.get("content") or []
        html = content[0].get("value", "") if content else entry.get("summary", "")
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        key = entry.get("id") or entry.get("link")
        if key and entry.get("title") and html:
            found.append(Entry(key, entry["title"], html, entry.get("link"), published))
    return found
