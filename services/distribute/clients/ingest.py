"""Ingest's version API: reads one version for an approval that overtook its `content.ingested`."""

from __future__ import annotations

from typing import Any

import httpx

from common.errors import ServiceUnavailable
from common.identity import service_actor_headers
from common.replicas import Replicas, replica_urls


class VersionFetcher:
    """Reads one version from ingest's API (`services.distribute.library.VersionSource`).

    `transport` lets tests answer without a network (httpx.MockTransport).
    """

    def __init__(
        self,
        base_url: str,
        internal_secret: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.headers = service_actor_headers("distribute", internal_secret)
        self.replicas = Replicas(replica_urls(base_url), timeout, transport=transport)

    async def close(self) -> None:
        """Release the connections (the service's shutdown)."""
        await self.replicas.close()

    async def fetch(self, content_id: str, version: int) -> dict[str, Any] | None:
        """The version's fields, None when ingest says it does not exist; raises when ingest
        cannot answer (the consumer retries the event)."""
        path = f"/api/v1/contents/{content_id}/versions/{version}"
        try:
            response = await self.replicas.get(path, headers=self.headers)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(f"ingest unreachable: {error!r}") from error
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ServiceUnavailable(f"ingest answered {response.status_code} for {path}")
        return dict(response.json())
