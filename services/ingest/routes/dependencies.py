"""Request dependencies of the ingest routes: the service's `Deps`, who may read or edit the
library, and the query of a library search (one declaration for staff and public search)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from common.identity import Actor, ActorDep
from common.pagination import MAX_LIMIT
from services.ingest import docnumber
from services.ingest.deps import Deps
from services.ingest.schemas import ContentKind
from services.ingest.search.query import SearchFilters

# Who reads the library: staff and content keys; a key with only cases scopes holds no role.
LIBRARY_ROLES = (
    "admin", "editor", "reviewer", "confidentiality", "override", "office", "handler",
    "integrator", "reader",
)  # fmt: skip


async def service_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(service_deps)]


async def library_reader(actor: ActorDep) -> Actor:
    actor.require_role(*LIBRARY_ROLES)
    return actor


ReaderDep = Annotated[Actor, Depends(library_reader)]


async def editor(actor: ActorDep) -> Actor:
    """As a dependency, so a caller without the role gets 403 before its body is validated."""
    actor.require_role("editor")
    return actor


EditorDep = Annotated[Actor, Depends(editor)]


async def admin(actor: ActorDep) -> Actor:
    actor.require_role("admin")
    return actor


AdminDep = Annotated[Actor, Depends(admin)]


CRAWL_STAFF = ("admin", "editor")


async def crawl_staff(actor: ActorDep) -> Actor:
    actor.require_role(*CRAWL_STAFF)
    return actor


CrawlStaffDep = Annotated[Actor, Depends(crawl_staff)]


@dataclass
class SearchParameters:
    """The filters, order and page of a library search (the query text is the route's own)."""

    column: str | None
    kind: ContentKind | None
    publisher: str | None
    doc_number: str | None  # canonical form (docnumber.canonical)
    topic: str | None
    date_from: date | None
    date_to: date | None
    order: Literal["relevance", "date"]
    cursor: str | None
    limit: int

    def filters(self, **more: object) -> SearchFilters:
        """The search filters of these parameters, plus `more` (site, status, scope…)."""
        return SearchFilters(
            column=self.column, kind=self.kind, publisher=self.publisher,
            doc_number=self.doc_number, topic=self.topic, date_from=self.date_from,
            date_to=self.date_to, **more,  # type: ignore[arg-type]
        )  # fmt: skip


async def search_parameters(
    column: str | None = None,
    kind: ContentKind | None = None,
    publisher: str | None = None,
    doc_number: str | None = None,
    topic: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    order: Literal["relevance", "date"] = "relevance",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> SearchParameters:
    return SearchParameters(
        column, kind, publisher, docnumber.canonical(doc_number), topic, date_from, date_to,
        order, cursor, limit,
    )  # fmt: skip


SearchDep = Annotated[SearchParameters, Depends(search_parameters)]
