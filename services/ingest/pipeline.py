"""The one pipeline every entry path ends in: clean → metadata → dedupe → store → announce.

No HTTP or Kafka here; the caller (request, consumer, crawler job, CLI) owns the transaction
and commits. `content.ingested` is written to the outbox in that same transaction — except for
quarantined items, which wait for an editor's release.
"""

from __future__ import annotations

import difflib
import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, or_, update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import dialect_insert, insert_models, table_of
from common.events import ContentIngested, FanoutSelector, utcnow
from services.ingest import dedupe, indexno, schedules
from services.ingest.chinese import fold, segment
from services.ingest.cleaning import content_hash
from services.ingest.metadata import load_taxonomy
from services.ingest.models import (
    OUTBOX,
    Blob,
    ContentAttachment,
    ContentItem,
    ContentTarget,
    ContentVersion,
    ItemSource,
    Relation,
    SearchDoc,
    StatusChange,
)
from services.ingest.prepare import Incoming, Prepared, prepare
from services.ingest.search import index as search_index
from services.ingest.search.tokens import index_grams, index_words
from services.ingest.settings import IngestSettings

MAX_CANDIDATES = 50
# core statements on the submission path: no ORM unit of work
BLOBS, RELATIONS = table_of(Blob), table_of(Relation)


@dataclass
class Outcome:
    """What happened: `created`, `merged` (same document, other source), `reprint`, `duplicate`."""

    item: ContentItem
    outcome: str
    related_to: str | None = None
    similarity: float | None = None


def new_id() -> str:
    return uuid.uuid4().hex


def material_fields(version: ContentVersion) -> dict[str, object]:
    fields: dict[str, object] = {
        "title": version.title,
        "body_html": version.body_html,
        "kind": version.kind,
        "site": version.site,
        "columns": version.columns,
        "publisher": version.publisher,
        "doc_number": version.doc_number,
        "attachments": [a["sha256"] for a in version.attachments],
    }
    if version.accounts:  # a target like the columns; absent when none, so older hashes hold
        fields["accounts"] = sorted(version.accounts)
    if version.fanout:  # targets too, likewise
        fields["fanout"] = version.fanout
    return fields


async def store_blob(session: AsyncSession, data: bytes, media_type: str) -> str:
    """Content-addressed: the same bytes are stored once, under their sha256.

    `INSERT … ON CONFLICT DO NOTHING`, so two requests storing the same bytes at once (a double
    click, a retry without `Idempotency-Key`) do not collide on the primary key."""
    digest = hashlib.sha256(data).hexdigest()
    # no look-up first: it would read back the stored bytes of every attachment already known
    await session.execute(
        dialect_insert(session, BLOBS)
        .values(
            sha256=digest, media_type=media_type, size=len(data), data=data, created_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return digest


async def find_duplicate(
    session: AsyncSession, prepared: Prepared, threshold: float
) -> tuple[ContentItem | None, float | None]:
    """The oldest item with the same normalised text, else the most similar near duplicate."""
    if not prepared.normalised:
        return None, None
    exact = await session.exec(
        select(ContentItem)
        .where(col(ContentItem.exact_key) == prepared.exact_key)
        .order_by(col(ContentItem.created_at))
        .limit(1)
    )
    if (item := exact.first()) is not None:
        return item, 1.0
    if len(prepared.normalised) < dedupe.NEAR_MIN_CHARS:
        return None, None
    bands = dedupe.bands(prepared.simhash)
    near: list[ColumnElement[bool]] = [
        getattr(ContentItem, f"band{i}") == band for i, band in enumerate(bands)
    ]
    if prepared.meta.doc_number:
        near.append(col(ContentItem.doc_number) == prepared.meta.doc_number)
    # Only ids and texts: every candidate is scored, one at most is loaded as an item.
    rows = await session.exec(
        select(col(ContentItem.id), col(ContentVersion.body_text))
        .join(
            ContentVersion,
            (col(ContentVersion.content_id) == col(ContentItem.id))
            & (col(ContentVersion.version) == col(ContentItem.version)),
        )
        .where(or_(*near))
        .order_by(col(ContentItem.created_at))
        .limit(MAX_CANDIDATES)
    )
    best: tuple[str | None, float | None] = (None, None)
    for item_id, body_text in rows:
        score = dedupe.jaccard(prepared.normalised, dedupe.normalise(body_text))
        if score >= threshold and (best[1] is None or score > best[1]):
            best = (item_id, score)
    best_id, similarity = best
    if best_id is None:
        return None, None
    return await session.get(ContentItem, best_id), similarity


def source_row(
    item_id: str,
    incoming: Incoming,
    raw_sha: str | None,
    outcome: str,
    similarity: float | None = None,
) -> ItemSource:
    return ItemSource(
        content_id=item_id,
        channel=incoming.channel,
        name=incoming.source_name,
        url=incoming.url,
        external_id=incoming.external_id,
        raw_sha256=raw_sha,
        actor=incoming.actor,
        outcome=outcome,
        similarity=similarity,
        received_at=utcnow(),
    )


async def ingest(session: AsyncSession, incoming: Incoming, settings: IngestSettings) -> Outcome:
    """Put one incoming document into the library, or attach it to the item it duplicates."""
    prepared = prepare(incoming, load_taxonomy(settings.taxonomy_path or None))
    raw_sha = (
        await store_blob(session, incoming.raw, incoming.raw_media_type) if incoming.raw else None
    )
    original, similarity = await find_duplicate(
        session, prepared, settings.near_duplicate_threshold
    )
    if original is not None:
        same_place = original.site == incoming.site and not incoming.is_reprint
        if same_place and not prepared.quarantined:
            session.add(source_row(original.id, incoming, raw_sha, "merged", similarity))
            return Outcome(original, "merged", original.id, similarity)
        kind = "reprint_of" if incoming.is_reprint else "duplicate_of"
        item = await create_item(session, prepared, settings, raw_sha, (kind, original.id))
        outcome = "reprint" if incoming.is_reprint else "duplicate"
        return Outcome(item, outcome, original.id, similarity)
    explicit = ("reprint_of", incoming.reprint_of) if incoming.reprint_of else None
    item = await create_item(session, prepared, settings, raw_sha, explicit)
    return Outcome(item, "reprint" if explicit else "created", incoming.reprint_of)


def build_version(
    prepared: Prepared, item_id: str, number: int, raw_sha: str | None, now: datetime
) -> ContentVersion:
    incoming, meta, cleaned = prepared.incoming, prepared.meta, prepared.cleaned
    version = ContentVersion(
        content_id=item_id,
        version=number,
        title=cleaned.title,
        body_html=cleaned.body_html,
        body_text=cleaned.body_text,
        kind=incoming.kind,
        site=incoming.site,
        columns=list(incoming.columns),
        publisher=prepared.publisher,
        doc_number=meta.doc_number,
        content_hash="",
        author=incoming.actor,
        created_at=now,
        raw_sha256=raw_sha,
        cleaning=cleaned.steps,
        written_at=meta.written_at,
        summary=meta.summary,
        keywords=meta.keywords,
        topic=meta.topic,
        script=prepared.script,
        attachments=list(incoming.attachments),
        accounts=list(incoming.accounts),
        fanout=list(incoming.fanout),
    )
    version.content_hash = content_hash(material_fields(version))
    return version


def apply_version(item: ContentItem, version: ContentVersion, prepared: Prepared) -> None:
    """Copy the version's metadata onto the item (the item shows its current version)."""
    item.version = version.version
    item.title, item.kind, item.site = version.title, version.kind, version.site
    item.columns, item.publisher = version.columns, version.publisher
    item.doc_number, item.content_hash = version.doc_number, version.content_hash
    item.written_at, item.summary = version.written_at, version.summary
    item.keywords, item.topic, item.script = version.keywords, version.topic, version.script
    item.disclosure = prepared.meta.disclosure
    published = prepared.incoming.published_at
    item.published_at = published.astimezone(UTC) if published else item.published_at
    item.quarantine = prepared.quarantine()
    item.status = "quarantined" if prepared.quarantined else "ingested"
    item.status_reason = item.quarantine["reason"] if item.quarantine else None
    item.exact_key, item.simhash = prepared.exact_key, dedupe.to_signed(prepared.simhash)
    item.band0, item.band1, item.band2, item.band3 = dedupe.bands(prepared.simhash)
    item.updated_at = version.created_at


async def create_item(
    session: AsyncSession,
    prepared: Prepared,
    settings: IngestSettings,
    raw_sha: str | None,
    relation: tuple[str, str] | None = None,
) -> ContentItem:
    now = utcnow()
    item_id = new_id()
    version = build_version(prepared, item_id, 1, raw_sha, now)
    incoming = prepared.incoming
    index_no = await indexno.allocate(
        session,
        prepared.publisher,
        (prepared.meta.written_at or now.date()).year,
        settings.index_patterns,
        settings.index_pattern_default,
        settings.org_codes,
    )
    item = ContentItem(
        id=item_id,
        version=1,
        status="ingested",
        title=version.title,
        kind=version.kind,
        site=version.site,
        columns=version.columns,
        publisher=version.publisher,
        content_hash=version.content_hash,
        author=incoming.actor,
        urgent=incoming.urgent,
        created_at=now,
        updated_at=now,
        index_no=index_no,
        is_reprint=incoming.is_reprint or bool(relation and relation[0] == "reprint_of"),
    )
    apply_version(item, version, prepared)
    schedules.adopt(item, incoming, now)
    session.add(item)
    await session.flush()
    # the rows of a new item are written once: core inserts, not the ORM's unit of work
    rows: list[SQLModel] = [version, *attachment_rows(version)]
    rows += [
        ContentTarget(content_id=item_id, site=version.site, column=c) for c in version.columns
    ]
    rows.append(StatusChange(content_id=item_id, version=1, status=item.status, at=now))
    rows.append(source_row(item_id, incoming, raw_sha, "created"))
    if relation:
        rows.append(Relation(content_id=item_id, kind=relation[0], target_id=relation[1]))
    await insert_models(session, rows)
    await derive_relations(session, item, prepared)
    await index_for_search(session, item, prepared, new=True)
    original = relation[1] if relation and relation[0] == "reprint_of" else None
    await announce(session, item, version, original)
    return item


async def revise(
    session: AsyncSession, item: ContentItem, incoming: Incoming, settings: IngestSettings
) -> ContentVersion:
    """An edit: a new immutable version with its diff and author, announced for review."""
    prepared = prepare(incoming, load_taxonomy(settings.taxonomy_path or None))
    previous = (
        await session.exec(
            select(ContentVersion).where(
                col(ContentVersion.content_id) == item.id,
                col(ContentVersion.version) == item.version,
            )
        )
    ).one()
    raw_sha = (
        await store_blob(session, incoming.raw, incoming.raw_media_type) if incoming.raw else None
    )
    now = utcnow()
    version = build_version(prepared, item.id, item.version + 1, raw_sha, now)
    version.diff = unified_diff(previous, version)
    apply_version(item, version, prepared)
    if schedules.adopt(item, incoming, now):  # distribute learns it from the version's event
        item.updated_at = now
    session.add(item)
    session.add(version)
    session.add_all(attachment_rows(version))
    await session.flush()
    await replace_targets(session, item)
    session.add(
        StatusChange(content_id=item.id, version=version.version, status=item.status, at=now)
    )
    await session.execute(
        delete(Relation).where(
            col(Relation.content_id) == item.id,
            col(Relation.kind).in_(("cites", "repeals", "amends")),
        )
    )
    await derive_relations(session, item, prepared)
    await index_for_search(session, item, prepared)
    await announce(session, item, version)
    return version


def attachment_rows(version: ContentVersion) -> list[ContentAttachment]:
    """One row per distinct attachment of the version."""
    return [
        ContentAttachment(
            content_id=version.content_id,
            version=version.version,
            sha256=attachment["sha256"],
            filename=attachment["filename"][:300],
        )
        for attachment in {a["sha256"]: a for a in version.attachments}.values()
    ]


async def replace_targets(session: AsyncSession, item: ContentItem) -> None:
    await session.execute(delete(ContentTarget).where(col(ContentTarget.content_id) == item.id))
    for column in item.columns:
        session.add(ContentTarget(content_id=item.id, site=item.site, column=column))


def unified_diff(old: ContentVersion, new: ContentVersion) -> str:
    before = [f"# {old.title}", *old.body_text.split("\n")]
    after = [f"# {new.title}", *new.body_text.split("\n")]
    lines = difflib.unified_diff(
        before, after, f"v{old.version}", f"v{new.version}", lineterm="", n=1
    )
    return "\n".join(lines)


async def derive_relations(session: AsyncSession, item: ContentItem, prepared: Prepared) -> None:
    """Citations by 文号, repeal/amend effects, and a 解读's link to its policy."""
    meta = prepared.meta
    for kind, numbers in (
        ("cites", meta.cites),
        ("repeals", meta.repeals),
        ("amends", meta.amends),
    ):
        for number in numbers:
            session.add(Relation(content_id=item.id, kind=kind, target_doc_number=number))
    for kind, validity in (("repeals", "repealed"), ("amends", "amended")):
        numbers = getattr(meta, kind)
        if numbers:
            await session.execute(
                update(ContentItem)
                .where(col(ContentItem.doc_number).in_(numbers))
                .values(validity=validity)
            )
    if item.doc_number:
        await inherit_validity(session, item)
    if item.kind == "interpretation":
        await link_interpretation(session, item, prepared)
    else:
        await adopt_interpretations(session, item, prepared)


async def inherit_validity(session: AsyncSession, item: ContentItem) -> None:
    """A document that arrives after the one repealing it is born repealed."""
    rows = await session.exec(
        select(Relation.kind).where(
            col(Relation.target_doc_number) == item.doc_number,
            col(Relation.kind).in_(("repeals", "amends")),
        )
    )
    kinds = set(rows)
    if kinds:
        item.validity = "repealed" if "repeals" in kinds else "amended"


async def link_interpretation(session: AsyncSession, item: ContentItem, prepared: Prepared) -> None:
    """A 解读 interprets the policy it names by title, or else the first 文号 it cites."""
    title = fold(prepared.meta.interprets_title)[:300] if prepared.meta.interprets_title else None
    target_id: str | None = None
    if title:
        row = await session.exec(
            select(SearchDoc.content_id).where(col(SearchDoc.folded_title) == title)
        )
        target_id = row.first()
    number = prepared.meta.cites[0] if prepared.meta.cites else None
    if target_id is None and number is None and title is None:
        return
    session.add(
        Relation(
            content_id=item.id,
            kind="interprets",
            target_id=target_id,
            target_doc_number=number,
            target_title=title,
        )
    )


async def adopt_interpretations(
    session: AsyncSession, item: ContentItem, prepared: Prepared
) -> None:
    """A policy arriving after its 解读: link the 解读s that named it by title.

    A core statement: every submission runs it, and the ORM's version would flush the session
    and search the identity map for the rows it changed (none are loaded here)."""
    await session.execute(
        update(RELATIONS)
        .where(
            RELATIONS.c.kind == "interprets",
            RELATIONS.c.target_id.is_(None),
            RELATIONS.c.target_title == prepared.folded_title[:300],
        )
        .values(target_id=item.id)
    )


async def index_for_search(
    session: AsyncSession, item: ContentItem, prepared: Prepared, new: bool = False
) -> None:
    """The item's staff search row; `new`: the item has none yet, so it is only inserted."""
    write = search_index.insert_new if new else search_index.upsert
    await write(
        session,
        item.id,
        prepared.doc_date(item.created_at.date()),
        prepared.folded_title,
        prepared.grams_title,
        prepared.grams_body,
        prepared.words,
    )


async def index_published(session: AsyncSession, item: ContentItem, number: int) -> None:
    """Point the item's public search row at version `number`, just published.

    The current version's tokens are copied from the staff row; an older version (its
    `content.published` arrived after a later edit) is tokenised again from its stored text."""
    if number == item.version and await search_index.publish_current(session, item.id, number):
        return
    version = (
        await session.exec(
            select(ContentVersion).where(
                col(ContentVersion.content_id) == item.id, col(ContentVersion.version) == number
            )
        )
    ).one_or_none()
    if version is None:
        return
    staff_date = (
        await session.exec(
            select(col(SearchDoc.doc_date)).where(col(SearchDoc.content_id) == item.id)
        )
    ).one_or_none()
    folded_title, folded_text = fold(version.title), fold(version.body_text)
    await search_index.upsert(
        session,
        item.id,
        staff_date or version.written_at or version.created_at.date(),
        folded_title,
        index_grams(folded_title),
        index_grams(folded_text),
        index_words(segment(folded_title) + segment(folded_text)),
        scope=search_index.PUBLIC,
        version=number,
    )


LOOK_UP = "look up"


async def announce(
    session: AsyncSession,
    item: ContentItem,
    version: ContentVersion,
    original: str | None = LOOK_UP,
) -> None:
    """`content.ingested` for review — not while quarantined (it must not reach review).

    `original` is the item a reprint reprints, when the caller knows it (a new item: None or
    its `reprint_of` target); by default it is looked up."""
    if item.status != "quarantined":
        if original == LOOK_UP:
            original = await original_of(session, item.id)
        await OUTBOX.add(session, ingested_event(item, version, original))


async def original_of(session: AsyncSession, item_id: str) -> str | None:
    """The item a reprint reprints (its `reprint_of` relation); None for an item of its own."""
    query = select(col(Relation.target_id)).where(
        col(Relation.content_id) == item_id,
        col(Relation.kind) == "reprint_of",
        col(Relation.target_id).is_not(None),
    )
    return (await session.exec(query.order_by(col(Relation.id)).limit(1))).first()


def ingested_event(
    item: ContentItem, version: ContentVersion, reprint_of: str | None = None
) -> ContentIngested:
    return ContentIngested(
        content_id=item.id,
        version=version.version,
        content_hash=version.content_hash,
        title=version.title,
        body_html=version.body_html,
        body_text=version.body_text,
        kind=version.kind,
        site=version.site,
        columns=version.columns,
        publisher=version.publisher,
        doc_number=version.doc_number,
        author=version.author,
        urgent=item.urgent,
        is_reprint=item.is_reprint,
        written_at=version.written_at.isoformat() if version.written_at else None,
        published_at=item.published_at.isoformat() if item.published_at else None,
        summary=version.summary,
        index_no=item.index_no,
        accounts=list(version.accounts),
        fanout=[FanoutSelector.model_validate(s) for s in version.fanout],
        submitted_at=version.created_at,
        reprint_of=reprint_of,
        **asdict(schedules.current(item)),
        schedule_revision=item.schedule_revision,
    )
