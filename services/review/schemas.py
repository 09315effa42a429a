"""What the review API accepts (`*In`, `CheckRequest`) and returns (`*Public`).

The routes answer precomputed JSON built by the `*_out` functions below; the `*Public` models
describe those bytes field for field (they are the OpenAPI document of every success).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from common.pagination import Page
from services.review.checks.types import Finding
from services.review.models import Decision, FindingRow, Lexicon, ReviewPolicy, ReviewTask

SLUG = r"^[a-z0-9][a-z0-9-]{0,59}$"
ROLES = ("reviewer", "confidentiality", "override", "admin", "editor")


class DecisionIn(BaseModel):
    """A signature on the current stage; `stage`/`version` guard against stale screens."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "return"]
    comment: str = Field(default="", max_length=5000)
    override_reason: str | None = Field(default=None, max_length=5000)
    stage: str | None = Field(default=None, max_length=40)
    version: int | None = Field(default=None, ge=1)


class AttestationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["cleared", "classified"]
    comment: str = Field(default="", max_length=5000)


class CheckRequest(BaseModel):
    """A draft to check without opening a review (what an editor sees before submitting)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=300)
    body_text: str = Field(default="", max_length=1_000_000)
    body_html: str = Field(default="", max_length=1_000_000)
    kind: str = Field(default="news", max_length=30)
    publisher: str | None = Field(default=None, max_length=200)
    doc_number: str | None = Field(default=None, max_length=100)
    written_at: str | None = Field(default=None, max_length=40)
    published_at: str | None = Field(default=None, max_length=40)
    publish_at: AwareDatetime | None = None
    check_links: bool = False


class LexiconIn(BaseModel):
    """A new lexicon with its first version; `text` holds one entry per line."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG)
    kind: Literal["sensitive", "classification", "wording", "typo"]
    category: str = Field(min_length=1, max_length=60)
    severity: Literal["block", "warn", "info"] | None = None
    description: str = Field(default="", max_length=500)
    text: str = Field(min_length=1, max_length=2_000_000)


class LexiconPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    role: Literal["reviewer", "confidentiality", "override", "admin", "editor"]


class PolicyIn(BaseModel):
    """Stages of a (site, kind); reprints (转载) may pass with only `reprint_stages`."""

    model_config = ConfigDict(extra="forbid")

    stages: list[StageIn] = Field(min_length=1, max_length=8)
    confidentiality: Literal["never", "always", "on_marks"] = "on_marks"
    reprint_stages: list[str] | None = None
    stage_hours: float = Field(default=24.0, gt=0, le=24 * 90)
    urgent_stage_hours: float = Field(default=4.0, gt=0, le=24 * 90)

    @field_validator("stages")
    @classmethod
    def _unique_names(cls, stages: list[StageIn]) -> list[StageIn]:
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        return stages

    @model_validator(mode="after")
    def _reprint_subset(self) -> PolicyIn:
        if self.reprint_stages is not None:
            unknown = set(self.reprint_stages) - {s.name for s in self.stages}
            if unknown or not self.reprint_stages:
                raise ValueError("reprint_stages must be a non-empty subset of the stage names")
        return self

    def values(self) -> dict[str, Any]:
        return {
            "stages": [s.model_dump() for s in self.stages],
            "confidentiality": self.confidentiality,
            "reprint_stages": self.reprint_stages,
            "stage_hours": self.stage_hours,
            "urgent_stage_hours": self.urgent_stage_hours,
        }


# --- what the API answers -------------------------------------------------------------------


class FindingPublic(BaseModel):
    """A machine-check finding: `text` is `field[start:end]` (meta findings have no span)."""

    rule: str
    category: str
    severity: Literal["block", "warn", "info"]
    start: int
    end: int
    text: str
    suggestion: str | None
    field: Literal["title", "body_text", "body_html", "meta"]


class StagePublic(BaseModel):
    name: str
    role: str


class DecisionPublic(BaseModel):
    """A signature on a stage, or an attestation (`attest_cleared` / `attest_classified`)."""

    stage: str
    stage_index: int
    decision: str
    actor: str
    comment: str
    override_reason: str | None
    at: datetime


class AttestationPublic(BaseModel):
    by: str
    at: datetime | None
    comment: str | None


class OverridePublic(BaseModel):
    by: str
    reason: str | None


class TaskSummaryPublic(BaseModel):
    """A review task: which stage it is at, who may sign it, what stands in its way."""

    id: str
    content_id: str
    version: int
    content_hash: str
    stage: str
    stage_index: int
    stage_role: str
    stages: list[StagePublic]
    status: Literal["in_review", "approved", "rejected", "returned", "superseded"]
    title: str
    kind: str
    site: str
    columns: list[str]
    publisher: str
    doc_number: str | None
    author: str
    urgent: bool
    is_reprint: bool
    claimed_by: str | None
    due_at: datetime | None
    blocking_findings: int
    confidentiality_required: bool
    attestation: AttestationPublic | None
    override: OverridePublic | None
    decisions: list[DecisionPublic]
    created_at: datetime
    updated_at: datetime


class TaskListItemPublic(TaskSummaryPublic):
    """A task in a queue, with its version's findings."""

    findings: list[FindingPublic]


class DiffPublic(BaseModel):
    """The unified diff of title and text against the item's last approved version."""

    base_version: int
    base_content_hash: str
    unified: str


class TaskDetailPublic(TaskSummaryPublic):
    """One task with its text, findings, link-check state and diff."""

    link_check: Literal["pending", "done", "skipped", "failed"] | None
    body_text: str
    body_html: str
    findings: list[FindingPublic]
    diff: DiffPublic | None


class CheckResultPublic(BaseModel):
    """The findings of a draft (nothing stored) and how many of them block."""

    findings: list[FindingPublic]
    blocking: int


class LexiconPublic(BaseModel):
    name: str
    kind: Literal["sensitive", "classification", "wording", "typo"]
    category: str
    severity: Literal["block", "warn", "info"]
    description: str
    active: bool
    version: int
    updated_at: datetime


class LexiconEntryPublic(BaseModel):
    """One line of a lexicon; `suggestion` only for wording/typo pairs (absent when unset)."""

    term: str
    suggestion: str | None = None
    category: str | None = None


class LexiconEntriesPublic(LexiconPublic):
    """A lexicon with the entries of its current version."""

    entries: list[LexiconEntryPublic]


class LexiconUploadedPublic(LexiconPublic):
    """A lexicon after an upload; `entries` counts the new version's entries."""

    entries: int


class LexiconVersionPublic(BaseModel):
    name: str
    version: int
    entries: list[LexiconEntryPublic]
    created_by: str
    created_at: datetime


class PolicyRulesPublic(BaseModel):
    """What a review policy decides for (site, kind)."""

    site: str
    kind: str
    stages: list[StagePublic]
    confidentiality: Literal["never", "always", "on_marks"]
    reprint_stages: list[str] | None
    stage_hours: float
    urgent_stage_hours: float


class PolicyPublic(PolicyRulesPublic):
    updated_by: str
    updated_at: datetime


class EffectivePolicyPublic(PolicyRulesPublic):
    """The policy applied to (site, kind); `source` is the row (`site/kind`) or `default`."""

    source: str


class PolicyPagePublic(Page[PolicyPublic]):
    """Every configured policy, and the built-in default applied where none matches."""

    default: EffectivePolicyPublic


class AuditEntryPublic(BaseModel):
    """One link of the hash chain; `data_canonical` is what was hashed."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    data_canonical: str
    prev_hash: str
    hash: str


class AnchorPublic(BaseModel):
    """The chain head, to keep outside the database as an anchor."""

    format: str
    seq: int
    hash: str


class VerificationPublic(BaseModel):
    """A walk of the chain: `first_bad_seq` names the first entry altered or removed."""

    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None
    reason: str | None
    anchor_seq: int | None


def finding_out(row: FindingRow) -> dict[str, Any]:
    return {
        "rule": row.rule,
        "category": row.category,
        "severity": row.severity,
        "start": row.start,
        "end": row.end,
        "text": row.text,
        "suggestion": row.suggestion,
        "field": row.field,
    }


def finding_dict(finding: Finding) -> dict[str, Any]:
    return finding.as_dict()


def check_result(findings: list[Finding]) -> dict[str, Any]:
    """A draft's answer: its findings and how many block."""
    blocking = sum(f.severity == "block" for f in findings)
    return {"findings": [finding_dict(f) for f in findings], "blocking": blocking}


def decision_out(row: Decision) -> dict[str, Any]:
    return {
        "stage": row.stage,
        "stage_index": row.stage_index,
        "decision": row.decision,
        "actor": row.actor,
        "comment": row.comment,
        "override_reason": row.override_reason,
        "at": row.at,
    }


def task_summary(task: ReviewTask, decisions: list[Decision]) -> dict[str, Any]:
    return {
        "id": task.id,
        "content_id": task.content_id,
        "version": task.version,
        "content_hash": task.content_hash,
        "stage": task.stage,
        "stage_index": task.stage_index,
        "stage_role": task.stage_role,
        "stages": task.stages,
        "status": task.status,
        "title": task.title,
        "kind": task.kind,
        "site": task.site,
        "columns": task.columns,
        "publisher": task.publisher,
        "doc_number": task.doc_number,
        "author": task.author,
        "urgent": task.urgent,
        "is_reprint": task.is_reprint,
        "claimed_by": task.claimed_by,
        "due_at": task.due_at,
        "blocking_findings": task.blocking_findings,
        "confidentiality_required": task.confidentiality_required,
        "attestation": None
        if not task.attested_by
        else {"by": task.attested_by, "at": task.attested_at, "comment": task.attestation_comment},
        "override": None
        if not task.override_by
        else {"by": task.override_by, "reason": task.override_reason},
        "decisions": [decision_out(d) for d in decisions],
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def task_detail(
    task: ReviewTask,
    decisions: list[Decision],
    findings: list[FindingRow],
    diff: dict[str, object] | None,
    link_check: str | None = None,
) -> dict[str, Any]:
    """`link_check`: pending / done / skipped / failed, or None when the item has no links."""
    return {
        **task_summary(task, decisions),
        "link_check": link_check,
        "body_text": task.body_text,
        "body_html": task.body_html,
        "findings": [finding_out(f) for f in findings],
        "diff": diff,
    }


def lexicon_out(lexicon: Lexicon) -> dict[str, Any]:
    return {
        "name": lexicon.name,
        "kind": lexicon.kind,
        "category": lexicon.category,
        "severity": lexicon.severity,
        "description": lexicon.description,
        "active": lexicon.active,
        "version": lexicon.version,
        "updated_at": lexicon.updated_at,
    }


def policy_out(row: ReviewPolicy) -> dict[str, Any]:
    return {
        "site": row.site,
        "kind": row.kind,
        "stages": row.stages,
        "confidentiality": row.confidentiality,
        "reprint_stages": row.reprint_stages,
        "stage_hours": row.stage_hours,
        "urgent_stage_hours": row.urgent_stage_hours,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
    }
