"""Who may read the library: staff and content keys, not a key holding only cases scopes."""

from __future__ import annotations

import httpx

from common.identity import Actor, actor_headers
from common.settings import DEV_INTERNAL_SECRET
from common.testing import staff

CASES_KEY = actor_headers(
    Actor(id="key:cases", name="cases", kind="api_key", scopes=["cases:read"]),
    DEV_INTERNAL_SECRET,
)
READER_KEY = actor_headers(
    Actor(id="key:reader", name="reader", kind="api_key", roles=["reader"]),
    DEV_INTERNAL_SECRET,
)


async def test_a_key_without_a_content_role_cannot_read_the_library(
    ingest_client: httpx.AsyncClient,
) -> None:
    for path in (
        "/api/v1/contents",
        "/api/v1/contents/x",
        "/api/v1/contents/x/versions",
        "/api/v1/contents/x/versions/1",
        "/api/v1/contents/x/versions/1/raw",
    ):
        refused = await ingest_client.get(path, headers=CASES_KEY)
        assert refused.status_code == 403, (path, refused.text)
    for headers in (READER_KEY, staff("office", ("office",))):
        assert (await ingest_client.get("/api/v1/contents", headers=headers)).status_code == 200
        assert (await ingest_client.get("/api/v1/contents/x", headers=headers)).status_code == 404


async def test_linking_is_refused_to_non_editors_whatever_the_body(
    ingest_client: httpx.AsyncClient,
) -> None:
    for body in ({}, {"kind": "interprets", "target_id": "y"}):
        refused = await ingest_client.post(
            "/api/v1/contents/x/relations", json=body, headers=staff("r", ("reviewer",))
        )
        assert refused.status_code == 403, refused.text
