"""Which service answers which public path. The gateway never interprets the paths further."""

from __future__ import annotations

import re

ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), service)
    for pattern, service in (
        (r"^/api/v1/sites/[^/]+/search$", "ingest"),
        (
            r"^/api/v1/(contents|webhooks|sources|crawls|attachments|imports|schedules)(/|$)",
            "ingest",
        ),
        (r"^/api/v1/(reviews|lexicons|wording|review-policies|audit|checks)(/|$)", "review"),
        (
            r"^/api/v1/(sites|deliveries|webhook-endpoints|changes|channels|reprint-rules|reprints)(/|$)",
            "distribute",
        ),
        (r"^/feeds/", "distribute"),
        (
            r"^/api/v1/(cases|calendar|knowledge|surveys|interviews|statistics|departments)(/|$)",
            "interaction",
        ),
        (r"^/open311/", "interaction"),
    )
)


def service_for(path: str) -> str | None:
    """The service owning `path`, or None when no service does."""
    for pattern, service in ROUTES:
        if pattern.search(path):
            return service
    return None


# Paths no route of the gateway's own serves, only the catch-all (a test holds them apart): the
# portal's reads, which an anonymous GET may have forwarded without routing.
PUBLIC_READS = re.compile(r"^/(api/v1/sites/|api/v1/changes$|feeds/)")


def is_public_read(path: str) -> bool:
    return PUBLIC_READS.search(path) is not None
