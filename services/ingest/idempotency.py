"""`Idempotency-Key` on `POST /api/v1/contents`: the shared algorithm of `common.idempotency`
(claim the key in its own committed row before writing; a concurrent duplicate waits and replays
the first answer or gets a 409; the answer commits with the effects; a failed attempt releases
the key; a stale claim is taken over) over ingest's own `idempotency_record` table.

Only the request digest is ingest's own: `sha256(path + "\\n" + body)` as stored since the first
release (with attachments' sha256 appended, not the multipart framing), so a retry of a request
answered before this module moved keeps replaying.
"""

from __future__ import annotations

import hashlib

from common.idempotency import HEADER, Claim, IdempotencyStore, Replay
from services.ingest.models_intake import IdempotencyRecord
from services.ingest.settings import IngestSettings

__all__ = ["HEADER", "Claim", "Replay", "request_hash", "store"]


def request_hash(body: bytes, path: str) -> str:
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def store(settings: IngestSettings) -> IdempotencyStore:
    """The store over `idempotency_record`, with the configured wait and stale thresholds."""
    return IdempotencyStore(
        IdempotencyRecord.__table__,  # type: ignore[arg-type]
        wait_seconds=settings.idempotency_wait_seconds,
        stale_seconds=settings.idempotency_stale_seconds,
    )
