"""One OpenAPI document for `/api/v1`: the gateway's own paths plus every service's."""

from __future__ import annotations

import logging
from typing import Any

from gateway.proxy import Upstreams

log = logging.getLogger(__name__)
PUBLIC_PREFIXES = ("/api/v1/", "/feeds/", "/open311/")


def merge_schema(own: dict[str, Any], service_docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Add each service's public paths and component schemas; the first definition wins."""
    merged = {**own, "paths": dict(own.get("paths", {}))}
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    for name, doc in service_docs.items():
        for path, item in doc.get("paths", {}).items():
            if path.startswith(PUBLIC_PREFIXES) and path not in merged["paths"]:
                for operation in item.values():
                    operation.setdefault("tags", [name])
                merged["paths"][path] = item
        for schema_name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(schema_name, schema)
    return merged


async def fetch_service_docs(upstreams: Upstreams) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for name, client in upstreams.clients.items():
        try:
            response = await client.get("/openapi.json", timeout=5.0)
            response.raise_for_status()
            docs[name] = response.json()
        except Exception as error:  # a missing service only leaves its paths out
            log.warning("no OpenAPI from %s: %r", name, error)
    return docs
