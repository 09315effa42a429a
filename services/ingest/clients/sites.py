"""The site tree as the distribute service publishes it; ingest only validates targets with it."""

from __future__ import annotations

import time

import httpx

from common.errors import ServiceUnavailable, Unprocessable
from common.replicas import Replicas, replica_urls
from services.ingest.settings import IngestSettings


class SiteCatalog:
    """Column slugs per site, fetched from distribute's public API and cached briefly."""

    def __init__(self, client: httpx.AsyncClient | Replicas, ttl_seconds: float) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._columns: dict[str, tuple[float, set[str] | None]] = {}

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> SiteCatalog:
        """Over distribute's public API at `distribute_url`, one URL or its replicas'
        (internal: no outbound guard)."""
        client = Replicas(replica_urls(settings.distribute_url), timeout_seconds=5.0)
        return cls(client, settings.site_cache_seconds)

    async def close(self) -> None:
        """Release the connections (the service's shutdown)."""
        if isinstance(self.client, Replicas):
            await self.client.close()
        else:
            await self.client.aclose()

    async def columns_of(self, site: str) -> set[str] | None:
        """The site's column slugs, or None if the site does not exist."""
        cached = self._columns.get(site)
        if cached and time.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            response = await self.client.get(f"/api/v1/sites/{site}/columns")
        except httpx.HTTPError as error:
            raise ServiceUnavailable("site directory unreachable") from error
        if response.status_code == 404:
            columns = None
        elif response.status_code == 200:
            columns = {str(c["slug"]) for c in response.json()["items"]}
        else:
            raise ServiceUnavailable(f"site directory answered {response.status_code}")
        self._columns[site] = (time.monotonic(), columns)
        return columns

    async def require_targets(self, site: str, columns: list[str]) -> None:
        """Refuse (422, naming the field) a site or column that does not exist."""
        known = await self.columns_of(site)
        if known is None:
            raise Unprocessable(f"unknown site {site!r}", field="site")
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise Unprocessable(
                f"unknown column(s) {', '.join(unknown)} on site {site!r}", field="columns"
            )
