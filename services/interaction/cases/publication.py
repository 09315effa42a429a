"""Publishing a case: a masked public rendition, approved by a second staff member, every
redaction logged; the sealed original never changes. Plus the public list with search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, text
from sqlmodel import col, select

from common.errors import Conflict, Forbidden, NotFound
from common.events import CasePublished
from common.identity import Actor
from common.pagination import decode_cursor, page
from common.personal_data import coarse_address
from common.search_tokens import query_terms
from services.interaction import audit
from services.interaction import search as fulltext
from services.interaction.cases.workflow import OUTCOMES, get_case, require_office, transition
from services.interaction.context import Ctx
from services.interaction.masking import mask
from services.interaction.models import Case, Publication, Redaction
from services.interaction.schemas import PublicationDraft

PUBLISHABLE = {"replied", "followup", "supervision", "closed"}


async def log_redactions(
    ctx: Ctx, subject: str, field: str, text: str, actor: str, case: Case | None = None
) -> str:
    """Mask `text` (and the case's own name and address) and log each occurrence (kind, offset,
    hash of the original)."""
    names, addresses = ([case.name], [case.address]) if case else ([], [])
    masked, occurrences = mask(text, names=names, addresses=addresses)
    for item in occurrences:
        ctx.session.add(
            Redaction(
                subject=subject,
                field=field,
                kind=item.kind,
                start=item.start,
                length=item.length,
                masked=item.masked[:60],
                original_sha256=item.original_sha256,
                actor=actor,
                at=ctx.now(),
            )
        )
    return masked


def public_author(case: Case) -> str:
    if case.publicity == "anonymous" or not case.name:
        return "网友"
    return case.name[0] + "**"


def public_place(case: Case) -> tuple[str | None, float | None, float | None]:
    """Where a published case happened, no closer than the street: the address up to the house
    number, coordinates to two decimals (about a kilometre)."""
    address = coarse_address(case.address) if case.address else None
    if address is not None:
        address = mask(address, names=[case.name])[0] or None
    lat = round(case.lat, 2) if case.lat is not None else None
    long = round(case.long, 2) if case.long is not None else None
    return address, lat, long


async def prepare(ctx: Ctx, case: Case, actor: Actor, edits: PublicationDraft) -> Publication:
    """Build (or rebuild) the draft public rendition from the original or the staff's edits."""
    require_office(actor)
    if case.publicity == "private":
        raise Conflict("来信人选择不公开", field="publicity")
    if case.state not in PUBLISHABLE:
        raise Conflict("答复后才能公开", field="state")
    existing = await ctx.session.get(Publication, case.id)
    if existing is not None and existing.status == "approved":
        raise Conflict("已公开", field="state")
    subject = f"case:{case.id}"
    publication = existing or Publication(
        case_id=case.id,
        number=case.number,
        kind=case.kind,
        title="",
        author="",
        received_on=case.received_on,
        prepared_by=actor.id,
    )
    publication.title = await log_redactions(
        ctx, subject, "title", edits.title or case.title, actor.id, case
    )
    publication.body = await log_redactions(
        ctx, subject, "body", edits.body or case.body, actor.id, case
    )
    publication.reply = await log_redactions(
        ctx, subject, "reply", edits.reply or case.reply_text, actor.id, case
    )
    publication.address, publication.lat, publication.long = public_place(case)
    publication.author, publication.prepared_by = public_author(case), actor.id
    publication.department, publication.outcome = case.lead_department, case.outcome
    publication.replied_on = case.replied_on
    ctx.session.add(publication)
    edited = [name for name in ("title", "body", "reply") if getattr(edits, name)]
    await audit.record(
        ctx.session,
        actor.id,
        "publication.prepared",
        subject,
        {"number": case.number, "edited": edited},
    )
    return publication


async def approve(ctx: Ctx, case: Case, actor: Actor) -> Publication:
    """A second staff member approves exactly the draft they saw; it is then listed publicly."""
    require_office(actor)
    publication = await ctx.session.get(Publication, case.id)
    if publication is None or publication.status != "draft":
        raise Conflict("没有待审核的公开稿", field="state")
    if publication.prepared_by == actor.id:
        raise Forbidden("公开稿须由另一名工作人员审核", field="actor")
    publication.status, publication.approved_by, publication.approved_at = (
        "approved",
        actor.id,
        ctx.now(),
    )
    ctx.session.add(publication)
    await fulltext.index_publication(
        ctx.session, case.id, publication.title, publication.body, publication.reply
    )
    await transition(ctx, case, "publish", case.state, actor.id, CasePublished)
    await audit.record(
        ctx.session,
        actor.id,
        "publication.approved",
        f"case:{case.id}",
        {"number": case.number, "prepared_by": publication.prepared_by},
    )
    return publication


async def redactions(ctx: Ctx, subject: str) -> list[dict[str, Any]]:
    query = select(Redaction).where(col(Redaction.subject) == subject).order_by(col(Redaction.id))
    return [r.model_dump(mode="json") for r in (await ctx.session.exec(query)).all()]


def public_view(publication: Publication) -> dict[str, Any]:
    return {
        "number": publication.number,
        "kind": publication.kind,
        "title": publication.title,
        "body": publication.body,
        "reply": publication.reply,
        "author": publication.author,
        "department": publication.department,
        "address": publication.address,
        "outcome": publication.outcome,
        "outcome_label": OUTCOMES.get(publication.outcome or ""),
        "received_on": publication.received_on.isoformat(),
        "replied_on": publication.replied_on.isoformat() if publication.replied_on else None,
        "published_at": publication.approved_at.isoformat() if publication.approved_at else None,
    }


async def published(ctx: Ctx, number: str) -> Publication:
    query = select(Publication).where(
        col(Publication.number) == number, col(Publication.status) == "approved"
    )
    publication = (await ctx.session.exec(query)).one_or_none()
    if publication is None:
        raise NotFound("没有找到该件，请核对编号和查询码", field="number")
    return publication


async def search(
    ctx: Ctx,
    q: str | None,
    kind: str | None,
    department: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """Approved publications, newest first; `q` searches title, question and reply (masked).

    Through the full-text index (`search.py`): every whitespace-separated term of `q` must occur
    in one of the three texts, Traditional and Simplified alike. A `q` with nothing searchable
    in it (only punctuation) matches nothing.
    """
    query = select(Publication).where(col(Publication.status) == "approved")
    if q is not None and q.strip():
        terms = query_terms(q)
        if not terms:
            return {"items": [], "next_cursor": None}
        if fulltext.is_sqlite(ctx.session):
            match = text(
                "publication.case_id IN "
                "(SELECT case_id FROM publication_fts WHERE publication_fts MATCH :fts_q)"
            ).bindparams(fts_q=fulltext.fts5_all(terms))
        else:
            match = text("publication.tsv @@ CAST(:fts_q AS tsquery)").bindparams(
                fts_q=fulltext.tsquery_all(terms)
            )
        query = query.where(match)
    if kind:
        query = query.where(col(Publication.kind) == kind)
    if department:
        query = query.where(col(Publication.department) == department)
    position = decode_cursor(cursor)
    if position:
        at, last = datetime.fromisoformat(position[0]), position[1]
        query = query.where(
            or_(
                col(Publication.approved_at) < at,
                (col(Publication.approved_at) == at) & (col(Publication.case_id) < last),
            )
        )
    query = query.order_by(
        col(Publication.approved_at).desc(), col(Publication.case_id).desc()
    ).limit(limit + 1)
    rows = list((await ctx.session.exec(query)).all())
    result = page(rows, limit, lambda p: [p.approved_at.isoformat(), p.case_id])
    result["items"] = [public_view(p) for p in result["items"]]
    return result


async def prepare_number(
    ctx: Ctx, number: str, actor: Actor, edits: PublicationDraft
) -> dict[str, Any]:
    """Prepare the draft of case `number`; answers the draft as it would be shown, and its
    status."""
    draft = await prepare(ctx, await get_case(ctx, number), actor, edits)
    return {**public_view(draft), "status": draft.status}


async def approve_number(ctx: Ctx, number: str, actor: Actor) -> dict[str, Any]:
    """Approve the draft of case `number`; answers the publication and its status."""
    approved = await approve(ctx, await get_case(ctx, number), actor)
    return {**public_view(approved), "status": approved.status}


async def case_redactions(ctx: Ctx, number: str) -> list[dict[str, Any]]:
    """The redaction log of the public rendition of case `number`."""
    case = await get_case(ctx, number)
    return await redactions(ctx, f"case:{case.id}")
