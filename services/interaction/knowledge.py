"""咨询答问库: entries with validity windows, suggested to handlers by text similarity.

Similarity is cosine over character bigrams (Chinese has no spaces; bigrams catch 2-character
words like 社保, 公积金's 公积/积金 without a dictionary). Lapsed or not-yet-valid entries are
never suggested.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from common.errors import Conflict, NotFound
from common.identity import Actor
from services.interaction.cases.workflow import get_case
from services.interaction.context import Ctx
from services.interaction.masking import mask_text
from services.interaction.models import KnowledgeEntry
from services.interaction.schemas import KnowledgeFromCase, KnowledgeIn

MIN_SCORE = 0.12


def bigrams(text: str) -> Counter[str]:
    chars = re.sub(r"[\W_]+", "", text.lower())
    return Counter(chars[i : i + 2] for i in range(len(chars) - 1)) or Counter(chars)


def cosine(a: Counter[str], b: Counter[str]) -> float:
    shared = sum(a[k] * b[k] for k in a.keys() & b.keys())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return shared / norm if norm else 0.0


def _valid_on(today: date) -> Any:
    return (KnowledgeEntry.valid_from <= today) & or_(
        KnowledgeEntry.valid_until.is_(None), KnowledgeEntry.valid_until >= today
    )


def view(entry: KnowledgeEntry, score: float | None = None) -> dict[str, Any]:
    data = entry.model_dump(mode="json", exclude={"created_by"})
    if score is not None:
        data["score"] = round(score, 3)
    return data


async def valid_entries(ctx: Ctx, department: str | None = None) -> list[KnowledgeEntry]:
    query = select(KnowledgeEntry).where(_valid_on(ctx.today()))
    if department:
        query = query.where(KnowledgeEntry.department == department)
    return list((await ctx.session.execute(query)).scalars())


async def suggest_for(ctx: Ctx, text: str, limit: int = 5) -> list[dict[str, Any]]:
    """The most similar valid entries, best first; the handler confirms which one fits."""
    wanted = bigrams(text)
    scored = [
        (cosine(wanted, bigrams(f"{e.question} {' '.join(e.tags)}")), e)
        for e in await valid_entries(ctx)
    ]
    scored = [(s, e) for s, e in scored if s >= MIN_SCORE]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id or 0))
    return [view(e, s) for s, e in scored[:limit]]


async def create(
    ctx: Ctx, actor: Actor, data: KnowledgeIn, source_case: str | None = None
) -> KnowledgeEntry:
    actor.require_role("office", "admin", "handler")
    if data.valid_until and data.valid_from and data.valid_until < data.valid_from:
        raise Conflict("valid_until 早于 valid_from", field="valid_until")
    entry = KnowledgeEntry(
        question=data.question,
        answer=data.answer,
        tags=data.tags,
        department=data.department or actor.department,
        valid_from=data.valid_from or ctx.today(),
        valid_until=data.valid_until,
        source_case=source_case,
        created_by=actor.id,
        created_at=ctx.now(),
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    return entry


async def from_case(ctx: Ctx, actor: Actor, number: str, data: KnowledgeFromCase) -> KnowledgeEntry:
    """A good reply becomes an entry; the citizen's personal data is masked out of both texts."""
    case = await get_case(ctx, number)
    if not case.reply_text:
        raise Conflict("该件尚未答复", field="number")
    entry = KnowledgeIn(
        question=mask_text(data.question or case.title + "\n" + case.body),
        answer=mask_text(case.reply_text),
        tags=data.tags,
        department=case.lead_department,
        valid_until=data.valid_until,
    )
    return await create(ctx, actor, entry, source_case=case.number)


async def search(ctx: Ctx, q: str | None, department: str | None) -> list[dict[str, Any]]:
    """Public search over valid entries (by similarity when `q` is given)."""
    if q:
        return await suggest_for(ctx, q, limit=20)
    return [view(e) for e in await valid_entries(ctx, department)][:100]


async def get(ctx: Ctx, entry_id: int) -> KnowledgeEntry:
    entry = await ctx.session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise NotFound("没有该条目", field="id")
    return entry
