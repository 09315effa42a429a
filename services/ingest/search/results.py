"""Search answers, staff (`/contents?q=`) and public (`/sites/{site}/search`): the hits joined
with their items, with highlighted snippets and titles."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.ingest.models import ContentItem, ContentVersion
from services.ingest.search.query import SearchFilters, search
from services.ingest.search.snippets import highlight

PUBLIC_FIELDS = (
    "id", "title", "kind", "site", "columns", "publisher", "doc_number", "index_no", "topic",
    "summary", "written_at", "published_at",
)  # fmt: skip
STAFF_FIELDS = (*PUBLIC_FIELDS, "status", "version", "updated_at")


async def run_search(
    session: AsyncSession,
    q: str,
    filters: SearchFilters,
    order: str,
    cursor: str | None,
    limit: int,
    public: bool = False,
) -> dict[str, Any]:
    """`{items: [... with snippet], facets, next_cursor}`; public hits show published text."""
    page = await search(session, q, filters, order=order, cursor=cursor, limit=limit, public=public)
    ids = [hit["id"] for hit in page.hits]
    shown = ContentItem.published_version if public else ContentItem.version
    rows = await session.exec(
        select(ContentItem, ContentVersion.title, ContentVersion.body_text)
        .join(
            ContentVersion,
            (col(ContentVersion.content_id) == col(ContentItem.id))
            & (col(ContentVersion.version) == shown),
        )
        .where(col(ContentItem.id).in_(ids))
    )
    found = {item.id: (item, title, body) for item, title, body in rows}
    fields = PUBLIC_FIELDS if public else STAFF_FIELDS
    items: list[dict[str, Any]] = []
    for hit in page.hits:
        if hit["id"] not in found:  # e.g. a public row whose version row is gone: skip it
            continue
        item, title, body = found[hit["id"]]
        entry = {f: getattr(item, f) for f in fields}
        if public:  # the portal shows the published version, not a later edit
            entry["title"] = title
        entry["snippet"] = highlight(body, page.terms)
        entry["title_highlighted"] = highlight(title, page.terms, window=200)
        entry["score"] = hit["score"]
        items.append(entry)
    return {"items": items, "facets": page.facets, "next_cursor": page.next_cursor}


async def site_search(
    session: AsyncSession,
    q: str,
    filters: SearchFilters,
    order: str,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A site's public search. It runs on the published versions' index: an item edited after
    publication is still found by its published text until the new version is published."""
    result = await run_search(session, q, filters, order, cursor, limit, public=True)
    result["facets"].pop("status", None)
    return result
