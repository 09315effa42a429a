"""The ingest service's long-lived collaborators, built once by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from common.idempotency import IdempotencyStore
from common.secretbox import SecretBox
from services.ingest.clients.sites import SiteCatalog
from services.ingest.models_intake import idempotency_records
from services.ingest.settings import IngestSettings


@dataclass
class Deps:
    """Settings, distribute's site tree (targets are checked against it), the data key that
    seals webhook secrets, and the `Idempotency-Key` store of `POST /api/v1/contents`."""

    settings: IngestSettings
    sites: SiteCatalog
    secrets: SecretBox
    idempotency: IdempotencyStore

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> Deps:
        return cls(
            settings=settings,
            sites=SiteCatalog.from_settings(settings),
            secrets=SecretBox.from_settings(settings),
            idempotency=IdempotencyStore(
                idempotency_records,
                wait_seconds=settings.idempotency_wait_seconds,
                stale_seconds=settings.idempotency_stale_seconds,
            ),
        )
