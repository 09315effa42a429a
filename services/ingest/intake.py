"""Taking a submission in (REST or webhook): check its targets, store its attachments' bytes, put
it through the pipeline, and say what became of it. No HTTP here: `routes/bodies.py` turns the
request bytes into a `ReadSubmission`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.identity import Actor
from services.ingest import pipeline
from services.ingest.deps import Deps
from services.ingest.models import ContentItem
from services.ingest.pipeline import Outcome, store_blob
from services.ingest.prepare import Incoming
from services.ingest.schemas import ContentSubmission, SubmissionAcceptedPublic


@dataclass
class ReadSubmission:
    """A parsed submission; its attachments' bytes are not stored until `store_blobs`.

    Nothing is written while reading, so an `Idempotency-Key` can be claimed first."""

    submission: ContentSubmission
    raw: bytes
    media_type: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    blobs: list[tuple[bytes, str]] = field(default_factory=list)

    async def store_blobs(self, session: AsyncSession) -> None:
        for data, media_type in self.blobs:
            await store_blob(session, data, media_type)

    def digest(self, path: str) -> str:
        """The `Idempotency-Key` request digest: `sha256(path + "\\n" + body)` with the
        attachments' sha256 appended — what was submitted, not the multipart framing (a retry
        gets a new boundary). The formula of the first release, so keys answered before keep
        replaying."""
        body = self.raw + b"".join(a["sha256"].encode() for a in self.attachments)
        return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def incoming_from(
    submission: ContentSubmission,
    actor: Actor,
    channel: str,
    raw: bytes,
    media_type: str,
    attachments: list[dict[str, Any]],
    source_name: str = "",
) -> Incoming:
    return Incoming(
        title=submission.title,
        kind=submission.kind,
        site=submission.site,
        columns=list(submission.columns),
        publisher=submission.publisher,
        channel=channel,
        actor=actor.id,
        body_html=submission.body_html,
        body_text=submission.body_text,
        doc_number=submission.doc_number,
        disclosure=submission.disclosure,
        urgent=submission.urgent,
        published_at=submission.published_at,
        source_name=submission.reprint_source or source_name,
        url=submission.reprint_url,
        external_id=submission.external_id,
        raw=raw,
        raw_media_type=media_type,
        is_reprint=submission.is_reprint,
        reprint_of=submission.reprint_of,
        attachments=attachments,
        accounts=list(submission.accounts),
        fanout=[s.model_dump() for s in submission.fanout],
        publish_at=submission.publish_at,
        embargo_until=submission.embargo_until,
        expire_at=submission.expire_at,
    )


def accepted(outcome: Outcome) -> tuple[int, dict[str, Any]]:
    """202 for a new item; 200 with the existing item's id for a document already in the library."""
    item = outcome.item
    body = SubmissionAcceptedPublic(
        id=item.id,
        version=item.version,
        status=item.status,
        content_hash=item.content_hash,
        outcome=outcome.outcome,
        related_to=outcome.related_to,
    ).model_dump()
    return (200 if outcome.outcome == "merged" else 202), body


async def _checked_incoming(
    session: AsyncSession, deps: Deps, read: ReadSubmission, actor: Actor
) -> Incoming:
    submission = read.submission
    actor.require_site(submission.site)
    await deps.sites.require_targets(submission.site, submission.columns)
    await read.store_blobs(session)
    return incoming_from(submission, actor, "rest", read.raw, read.media_type, read.attachments)


async def submit(
    session: AsyncSession, deps: Deps, read: ReadSubmission, actor: Actor
) -> tuple[int, dict[str, Any]]:
    """A new item (202), or the item the library already has for this document (200)."""
    incoming = await _checked_incoming(session, deps, read, actor)
    return accepted(await pipeline.ingest(session, incoming, deps.settings))


async def revise(
    session: AsyncSession, deps: Deps, item: ContentItem, read: ReadSubmission, actor: Actor
) -> dict[str, Any]:
    """An edit of `item`: the full new version, which goes to review."""
    incoming = await _checked_incoming(session, deps, read, actor)
    version = await pipeline.revise(session, item, incoming, deps.settings)
    return SubmissionAcceptedPublic(
        id=item.id, version=version.version, status=item.status, content_hash=version.content_hash
    ).model_dump()
