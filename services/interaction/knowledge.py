"""咨询答问库: entries with validity windows, suggested to handlers by full-text similarity.

Suggestions come from the full-text index (`search.py`): any character bigram of the case may
match; the index ranks the matches (bm25 / ts_rank, question weighted over tags over answer)
within a bounded window of the newest valid candidates. A floor of bigram cosine similarity over
question and tags keeps one shared common bigram (如何, 办理) from making a suggestion. Lapsed or
not-yet-valid entries are filtered in SQL and never suggested.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, or_, text
from sqlmodel import col, select

from common.errors import Conflict
from common.identity import Actor
from common.lookup import get_or_404
from common.search_tokens import fold
from services.interaction import search as fulltext
from services.interaction.cases.workflow import get_case
from services.interaction.context import Ctx
from services.interaction.masking import mask_text
from services.interaction.models import KnowledgeEntry
from services.interaction.schemas import KnowledgeFromCase, KnowledgeIn

MIN_SCORE = 0.12
CANDIDATE_WINDOW = 500  # newest valid matches the index ranks
RANKED = 50  # best-ranked candidates checked against the floor


def bigrams(value: str) -> Counter[str]:
    chars = re.sub(r"[\W_]+", "", fold(value).lower())
    return Counter(chars[i : i + 2] for i in range(len(chars) - 1)) or Counter(chars)


def cosine(a: Counter[str], b: Counter[str]) -> float:
    shared = sum(a[k] * b[k] for k in a.keys() & b.keys())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return shared / norm if norm else 0.0


def _valid_on(today: date) -> ColumnElement[bool]:
    return (col(KnowledgeEntry.valid_from) <= today) & or_(
        col(KnowledgeEntry.valid_until).is_(None), col(KnowledgeEntry.valid_until) >= today
    )


def view(
    entry: KnowledgeEntry, score: float | None = None, rank: float | None = None
) -> dict[str, Any]:
    """`score`: bigram similarity (0–1); `rank`: the index's relevance (higher is better)."""
    data = entry.model_dump(mode="json", exclude={"created_by"})
    if score is not None:
        data["score"] = round(score, 3)
    if rank is not None:
        data["rank"] = float(f"{rank:.6g}")
    return data


async def valid_entries(
    ctx: Ctx, department: str | None = None, limit: int = 100
) -> list[KnowledgeEntry]:
    query = select(KnowledgeEntry).where(_valid_on(ctx.today()))
    if department:
        query = query.where(col(KnowledgeEntry.department) == department)
    query = query.order_by(col(KnowledgeEntry.id)).limit(limit)
    return list((await ctx.session.exec(query)).all())


async def suggest_for(
    ctx: Ctx, value: str, limit: int = 5, department: str | None = None
) -> list[dict[str, Any]]:
    """The valid entries the index ranks best for `value`, best first, above the floor."""
    grams = fulltext.any_grams(value)
    if not grams:
        return []
    today = ctx.today()
    params: dict[str, Any] = {"today": today, "window": CANDIDATE_WINDOW, "ranked": RANKED}
    valid = "k.valid_from <= :today AND (k.valid_until IS NULL OR k.valid_until >= :today)"
    if department:
        valid += " AND k.department = :department"
        params["department"] = department
    if fulltext.is_sqlite(ctx.session):
        params["q"] = fulltext.fts5_any(grams)
        inner = (
            "SELECT k.id AS id, bm25(knowledge_fts, 5.0, 3.0, 1.0) AS score "
            # CROSS JOIN keeps the full-text table outermost, as ingest's search does: today the
            # ORDER BY on its rowid also leads the planner there, but a walk of the entries
            # (under a department filter) would run the MATCH once per entry
            "FROM knowledge_fts CROSS JOIN knowledge_entry k ON k.id = knowledge_fts.rowid "
            f"WHERE knowledge_fts MATCH :q AND {valid} "
            "ORDER BY knowledge_fts.rowid DESC LIMIT :window"
        )
    else:
        params["q"] = fulltext.tsquery_any(grams)
        inner = (
            "SELECT k.id AS id, -ts_rank(k.tsv, CAST(:q AS tsquery)) AS score "
            f"FROM knowledge_entry k WHERE k.tsv @@ CAST(:q AS tsquery) AND {valid} "
            "ORDER BY k.id DESC LIMIT :window"
        )
    sql = f"SELECT id, score FROM ({inner}) AS candidates ORDER BY score, id LIMIT :ranked"
    ranked = [(int(r[0]), float(r[1])) for r in (await ctx.session.execute(text(sql), params))]
    if not ranked:
        return []
    rows = await ctx.session.exec(
        select(KnowledgeEntry).where(col(KnowledgeEntry.id).in_([i for i, _ in ranked]))
    )
    entries = {e.id: e for e in rows.all()}
    wanted = bigrams(value)
    suggested = []
    for entry_id, score in ranked:
        entry = entries[entry_id]
        similarity = cosine(wanted, bigrams(f"{entry.question} {' '.join(entry.tags)}"))
        if similarity >= MIN_SCORE:
            suggested.append(view(entry, similarity, rank=-score))
        if len(suggested) == limit:
            break
    return suggested


async def suggest_for_case(ctx: Ctx, number: str) -> list[dict[str, Any]]:
    """Entries similar to case `number` (its title and text), valid today."""
    case = await get_case(ctx, number)
    return await suggest_for(ctx, f"{case.title} {case.body}")


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
    assert entry.id is not None
    await fulltext.index_knowledge(
        ctx.session, entry.id, entry.question, list(entry.tags), entry.answer
    )
    return entry


async def from_case(ctx: Ctx, actor: Actor, number: str, data: KnowledgeFromCase) -> KnowledgeEntry:
    """A good reply becomes an entry; the citizen's personal data is masked out of both texts."""
    case = await get_case(ctx, number)
    if not case.reply_text:
        raise Conflict("该件尚未答复", field="number")
    names, addresses = [case.name], [case.address]
    entry = KnowledgeIn(
        question=mask_text(
            data.question or case.title + "\n" + case.body, names=names, addresses=addresses
        ),
        answer=mask_text(case.reply_text, names=names, addresses=addresses),
        tags=data.tags,
        department=case.lead_department,
        valid_until=data.valid_until,
    )
    return await create(ctx, actor, entry, source_case=case.number)


async def search(ctx: Ctx, q: str | None, department: str | None) -> list[dict[str, Any]]:
    """Public search over valid entries (by similarity when `q` is given)."""
    if q:
        return await suggest_for(ctx, q, limit=20, department=department)
    return [view(e) for e in await valid_entries(ctx, department)]


async def get(ctx: Ctx, entry_id: int) -> KnowledgeEntry:
    return await get_or_404(ctx.session, KnowledgeEntry, entry_id, detail="没有该条目")
