"""Review policies: which stages a site's kind of item goes through, and who signs each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import utcnow
from services.review import audit
from services.review.models import ReviewPolicy
from services.review.schemas import policy_out

ANY = "*"
CONFIDENTIALITY_STAGE = "保密审查"
DEFAULT_STAGES = (
    {"name": "初审", "role": "reviewer"},
    {"name": "复审", "role": "reviewer"},
    {"name": "终审", "role": "reviewer"},
)


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy applied to an item; `source` says which row (or the built-in default) won."""

    site: str
    kind: str
    stages: tuple[dict[str, str], ...] = DEFAULT_STAGES
    # never | always | on_marks (a classification finding makes the attestation required)
    confidentiality: str = "on_marks"
    reprint_stages: tuple[str, ...] | None = None
    stage_hours: float = 24.0
    urgent_stage_hours: float = 4.0
    source: str = "default"
    extra: dict[str, str] = field(default_factory=dict)

    def stages_for(self, is_reprint: bool) -> list[dict[str, str]]:
        """All stages, or only the reprint stages for a reprint (转载) when the policy says so."""
        if is_reprint and self.reprint_stages:
            return [s for s in self.stages if s["name"] in self.reprint_stages]
        return list(self.stages)

    def attestation_required(self, classified: bool) -> bool:
        return self.confidentiality == "always" or (
            self.confidentiality == "on_marks" and classified
        )

    def hours(self, urgent: bool) -> float:
        return self.urgent_stage_hours if urgent else self.stage_hours

    def as_dict(self) -> dict[str, object]:
        return {
            "site": self.site,
            "kind": self.kind,
            "stages": list(self.stages),
            "confidentiality": self.confidentiality,
            "reprint_stages": list(self.reprint_stages) if self.reprint_stages else None,
            "stage_hours": self.stage_hours,
            "urgent_stage_hours": self.urgent_stage_hours,
            "source": self.source,
        }


def _effective(row: ReviewPolicy, site: str, kind: str) -> EffectivePolicy:
    return EffectivePolicy(
        site=site,
        kind=kind,
        stages=tuple(row.stages),
        confidentiality=row.confidentiality,
        reprint_stages=tuple(row.reprint_stages) if row.reprint_stages else None,
        stage_hours=row.stage_hours,
        urgent_stage_hours=row.urgent_stage_hours,
        source=f"{row.site}/{row.kind}",
    )


async def resolve(session: AsyncSession, site: str, kind: str) -> EffectivePolicy:
    """Most specific first: (site, kind), (site, *), (*, kind), (*, *), then the default."""
    candidates = [(site, kind), (site, ANY), (ANY, kind), (ANY, ANY)]
    query = select(ReviewPolicy).where(
        col(ReviewPolicy.site).in_({site, ANY}), col(ReviewPolicy.kind).in_({kind, ANY})
    )
    rows = {(r.site, r.kind): r for r in (await session.exec(query)).all()}
    for key in candidates:
        if key in rows:
            return _effective(rows[key], site, kind)
    return EffectivePolicy(site=site, kind=kind)


async def list_policies(session: AsyncSession) -> list[ReviewPolicy]:
    query = select(ReviewPolicy).order_by(col(ReviewPolicy.site), col(ReviewPolicy.kind))
    return list((await session.exec(query)).all())


async def policy_page(session: AsyncSession) -> dict[str, Any]:
    """Every configured policy, and the built-in default that applies where none matches."""
    rows = await list_policies(session)
    default = EffectivePolicy(site=ANY, kind=ANY).as_dict()
    return {"items": [policy_out(r) for r in rows], "default": default, "next_cursor": None}


async def put_policy(
    session: AsyncSession, site: str, kind: str, values: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Create or replace the policy of (site, kind); recorded in the audit chain."""
    row = await session.get(ReviewPolicy, (site, kind))
    if row is None:
        row = ReviewPolicy(site=site, kind=kind, updated_by=actor, updated_at=utcnow(), **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by, row.updated_at = actor, utcnow()
    session.add(row)
    await audit.append(session, actor, "policy.changed", f"policy:{site}/{kind}", values)
    return policy_out(row)
