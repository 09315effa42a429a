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
        self.base_url = base_url
        self.headers = service_actor_headers("distribute", internal_secret)
        self.timeout = timeout
        self.transport = transport

    async def fetch(self, content_id: str, version: int) -> dict[str, Any] | None:
        """The version's fields, None when ingest says it does not exist; raises when ingest
        cannot answer (the consumer retries the event)."""
        path = f"/api/v1/contents/{content_id}/versions/{version}"
        replicas = Replicas(replica_urls(self.base_url), self.timeout, transport=self.transport)
        try:
            response = await replicas.get(path, headers=self.headers)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(f"ingest unreachable: {error!r}") from error
        finally:
            await replicas.close()
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ServiceUnavailable(f"ingest answered {response.status_code} for {path}")
        return dict(response.json())
