"""From an incoming document to everything the library stores about it — pure, no I/O.

This is the CPU part of ingest that `bench/ingest.py` measures: cleaning, metadata and
fingerprints, with the document segmented by jieba exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.ingest import dedupe
from services.ingest.chinese import fold, script_of, segment
from services.ingest.cleaning import Cleaned, clean, quarantine_reason
from services.ingest.metadata import Metadata, extract
from services.ingest.search.tokens import index_grams, index_words


@dataclass
class Incoming:
    """A document from any entry path, before cleaning; `raw` is kept byte-exact."""

    title: str
    kind: str
    site: str
    columns: list[str]
    publisher: str | None
    channel: str
    actor: str
    body_html: str | None = None
    body_text: str | None = None
    doc_number: str | None = None
    disclosure: str | None = None
    urgent: bool = False
    published_at: datetime | None = None
    source_name: str = ""
    url: str | None = None
    external_id: str | None = None
    raw: bytes | None = None
    raw_media_type: str = "application/json"
    is_reprint: bool = False
    reprint_of: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # new-media account ids (distribute)
    # fan-out selectors (`common.events.FanoutSelector` as JSON objects)
    fanout: list[dict[str, Any]] = field(default_factory=list)
    publish_at: datetime | None = None
    embargo_until: datetime | None = None
    expire_at: datetime | None = None


@dataclass
class Prepared:
    """The cleaned document, its metadata, search tokens and fingerprints."""

    incoming: Incoming
    cleaned: Cleaned
    meta: Metadata
    publisher: str
    script: str
    folded_title: str
    folded_text: str
    grams_title: list[str]
    grams_body: list[str]
    words: list[str]
    exact_key: str
    normalised: str
    simhash: int

    @property
    def quarantined(self) -> bool:
        return bool(self.cleaned.findings)

    def quarantine(self) -> dict[str, Any] | None:
        if not self.cleaned.findings:
            return None
        return {
            "reason": quarantine_reason(self.cleaned.findings),
            "spans": [f.as_dict() for f in self.cleaned.findings],
        }

    def doc_date(self, fallback: date) -> date:
        if self.incoming.published_at is not None:
            return self.incoming.published_at.date()
        return self.meta.written_at or fallback


def prepare(incoming: Incoming, taxonomy: dict[str, tuple[str, ...]] | None = None) -> Prepared:
    """Clean, extract metadata, fold, segment once, fingerprint."""
    cleaned = clean(incoming.title, incoming.body_html, incoming.body_text)
    folded_title, folded_text = fold(cleaned.title), fold(cleaned.body_text)
    title_words = segment(folded_title)
    words = segment(folded_text)
    meta = extract(
        cleaned.title,
        cleaned.body_text,
        words,
        title_words,
        given_doc_number=incoming.doc_number,
        given_disclosure=incoming.disclosure,
        taxonomy=taxonomy,
    )
    normalised = dedupe.normalise_folded(folded_text)
    return Prepared(
        incoming=incoming,
        cleaned=cleaned,
        meta=meta,
        publisher=(incoming.publisher or meta.agency or "未知发布机构").strip(),
        script=script_of(cleaned.title + cleaned.body_text),
        folded_title=folded_title,
        folded_text=folded_text,
        grams_title=index_grams(folded_title),
        grams_body=index_grams(folded_text),
        words=index_words(title_words + words),
        exact_key=dedupe.exact_key_of(dedupe.normalise_folded(folded_title) + "|" + normalised),
        normalised=normalised,
        simhash=dedupe.simhash(normalised),
    )
