"""Typed links between items (cites, interprets, reprint_of, duplicate_of, repeals, amends):
read both ways, and added by an editor by hand. The pipeline derives the rest."""

from __future__ import annotations

from sqlalchemy import false, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import Unprocessable
from common.identity import Actor
from common.lookup import get_or_404
from services.ingest.models import ContentItem, Relation
from services.ingest.schemas import RelationIn, RelationsPublic


async def _items_by_doc_number(session: AsyncSession, numbers: list[str]) -> dict[str, str]:
    if not numbers:
        return {}
    rows = await session.exec(
        select(ContentItem.doc_number, ContentItem.id)
        .where(col(ContentItem.doc_number).in_(numbers))
        .order_by(col(ContentItem.created_at))
    )
    found: dict[str, str] = {}
    for number, item_id in rows:
        if number is not None:
            found.setdefault(number, item_id)
    return found


async def relations_of(session: AsyncSession, item: ContentItem) -> RelationsPublic:
    """Outgoing links resolved by 文号 where possible, and incoming links (both ways)."""
    outgoing = list(await session.exec(select(Relation).where(col(Relation.content_id) == item.id)))
    numbers = [r.target_doc_number for r in outgoing if r.target_doc_number]
    resolved = await _items_by_doc_number(session, numbers)
    out = RelationsPublic()
    for rel in outgoing:
        target = rel.target_id or resolved.get(rel.target_doc_number or "")
        entry = {"doc_number": rel.target_doc_number, "id": target}
        if rel.kind in ("cites", "interprets", "repeals", "amends"):
            getattr(out, rel.kind).append(entry)
        elif rel.kind in ("reprint_of", "duplicate_of"):
            setattr(out, rel.kind, target)
    by_number = (
        (col(Relation.target_doc_number) == item.doc_number) & col(Relation.target_id).is_(None)
        if item.doc_number
        else false()
    )
    incoming_query = select(Relation.content_id, Relation.kind).where(
        or_(col(Relation.target_id) == item.id, by_number)
    )
    for source_id, kind in await session.exec(incoming_query):
        bucket = {
            "interprets": out.interpreted_by,
            "cites": out.cited_by,
            "reprint_of": out.reprinted_by,
        }.get(kind)
        if bucket is not None and source_id not in bucket:
            bucket.append(source_id)
    return out


async def link(
    session: AsyncSession, content_id: str, relation: RelationIn, actor: Actor
) -> RelationsPublic:
    """An editor links a 解读 to its policy (or a reprint to its original) by hand; the item's
    relations after the link."""
    item = await _item(session, content_id)
    actor.require_site(item.site)
    if relation.target_id == item.id:
        raise Unprocessable("an item cannot link to itself", field="target_id")
    await _item(session, relation.target_id)
    session.add(Relation(content_id=item.id, kind=relation.kind, target_id=relation.target_id))
    if relation.kind == "reprint_of":
        item.is_reprint = True
        session.add(item)
    return await relations_of(session, item)


async def _item(session: AsyncSession, content_id: str) -> ContentItem:
    return await get_or_404(
        session, ContentItem, content_id, detail=f"no content item {content_id}", field="id"
    )
