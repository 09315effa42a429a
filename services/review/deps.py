"""The review service's long-lived collaborators, built once per process by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from common.idempotency import IdempotencyStore
from services.review.checking import MachineChecks
from services.review.models import idempotency_records
from services.review.settings import ReviewSettings


@dataclass
class Deps:
    """Settings, the machine checks (automaton cache, link checker) and the Idempotency-Key store.

    The link checker's HTTP client is made in the app's startup hook (`checks.links`), not here.
    """

    settings: ReviewSettings
    checks: MachineChecks
    idempotency: IdempotencyStore


def build_deps(settings: ReviewSettings, checks: MachineChecks | None = None) -> Deps:
    return Deps(
        settings=settings,
        checks=checks or MachineChecks(settings.link_allowlist, links=None),
        idempotency=IdempotencyStore(
            idempotency_records,
            settings.idempotency_wait_seconds,
            settings.idempotency_stale_seconds,
        ),  # fmt: skip
    )
