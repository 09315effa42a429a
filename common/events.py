"""The CloudEvents 1.0 envelope and the typed event contracts services exchange over Kafka.

Contracts are the only thing services import from each other. A topic carries one event family,
named `<domain>.<event-in-past-tense>`; the message key is the aggregate id (content id, case id)
so that one aggregate's events stay ordered. The schema version is the last part of `type`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
TYPE_PREFIX = "cn.gov.kitchen"


def utcnow() -> datetime:
    return datetime.now(UTC)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode JSON envelope."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    specversion: str = SPEC_VERSION
    time: datetime = Field(default_factory=utcnow)
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate(orjson.loads(raw))


class EventData(BaseModel):
    """Base of every contract: knows its topic, its CloudEvents type and its aggregate key."""

    model_config = ConfigDict(extra="ignore")

    TOPIC: ClassVar[str]
    VERSION: ClassVar[int] = 1

    @classmethod
    def event_type(cls) -> str:
        return f"{TYPE_PREFIX}.{cls.TOPIC}.v{cls.VERSION}"

    def key(self) -> str:
        raise NotImplementedError

    def to_event(self, source: str) -> CloudEvent:
        return CloudEvent(
            source=source,
            type=self.event_type(),
            subject=self.key(),
            data=self.model_dump(mode="json"),
        )

    @classmethod
    def from_event(cls, event: CloudEvent) -> EventData:
        return cls.model_validate(event.data)


# --- content (owned by ingest) -------------------------------------------------------------


FanoutScope = Literal["self", "children", "descendants"]


class FanoutSelector(BaseModel):
    """Further portal targets of an item (多站点分发): `columns` on `site` itself (`self`), on
    each of its direct children (`children`) or on every site under it (`descendants`, the site
    itself excluded). Distribute resolves it over its site tree when the item is released."""

    model_config = ConfigDict(extra="ignore")

    site: str
    scope: FanoutScope = "self"
    columns: list[str]


class ContentIngested(EventData):
    """A new version of an item entered the library and needs review."""

    TOPIC: ClassVar[str] = "content.ingested"

    content_id: str
    version: int
    content_hash: str
    title: str
    body_html: str
    body_text: str
    kind: str
    site: str
    columns: list[str]
    publisher: str
    doc_number: str | None = None
    author: str
    urgent: bool = False
    is_reprint: bool = False
    written_at: str | None = None
    published_at: str | None = None
    summary: str | None = None
    index_no: str | None = None
    # new-media accounts (distribute's account ids) the submission named
    accounts: list[str] = []
    submitted_at: datetime
    # the library item this one reprints (转载), when it is a reprint
    reprint_of: str | None = None
    # 定时发布: approved, it waits and goes out at this moment on every target
    publish_at: datetime | None = None
    # nothing leaves before this moment, whatever the schedule (review may finish)
    embargo_until: datetime | None = None
    # taken down everywhere at this moment, like a retraction
    expire_at: datetime | None = None
    # grows with every change of the schedule (see `ContentScheduleChanged`)
    schedule_revision: int = 0
    # portal targets over the site tree besides `site` + `columns` (an event from before the
    # field parses as none)
    fanout: list[FanoutSelector] = []

    def key(self) -> str:
        return self.content_id


class ContentRetractionRequested(EventData):
    """An editor asked for a published item to be taken down everywhere it went."""

    TOPIC: ClassVar[str] = "content.retraction_requested"

    content_id: str
    reason: str
    requested_by: str

    def key(self) -> str:
        return self.content_id


class ContentSubmitted(EventData):
    """Another service hands a document to the library (e.g. an interview transcript)."""

    TOPIC: ClassVar[str] = "content.submitted"

    submission_id: str
    title: str
    body_html: str = ""
    body_text: str = ""
    kind: str
    site: str
    columns: list[str]
    publisher: str
    author: str
    source: str

    def key(self) -> str:
        return self.submission_id


class ContentScheduleChanged(EventData):
    """An editor moved or cancelled an item's schedule before it fired.

    `revision` grows with every change; a consumer keeps the highest it saw, so a late or
    repeated event never undoes a newer schedule. `None` means that part is cancelled.
    """

    TOPIC: ClassVar[str] = "content.schedule_changed"

    content_id: str
    revision: int
    publish_at: datetime | None = None
    embargo_until: datetime | None = None
    expire_at: datetime | None = None
    changed_by: str

    def key(self) -> str:
        return self.content_id


# --- review (owned by review) --------------------------------------------------------------


class ReviewStarted(EventData):
    """Machine checks ran and a human review task was opened for a version."""

    TOPIC: ClassVar[str] = "review.started"

    content_id: str
    version: int
    task_id: str
    stages: list[str]
    blocking_findings: int

    def key(self) -> str:
        return self.content_id


class ReviewDecided(EventData):
    """The final outcome of a version's review; distribution uses nothing else to publish."""

    TOPIC: ClassVar[str] = "review.decided"

    content_id: str
    version: int
    content_hash: str
    task_id: str
    decision: Literal["approved", "rejected", "returned"]
    stage: str
    decided_by: str
    comment: str = ""
    decided_at: datetime

    def key(self) -> str:
        return self.content_id


class ReviewDeadlinePassed(EventData):
    """A review stage is past its deadline (a reminder; sent once per stage)."""

    TOPIC: ClassVar[str] = "review.deadline_passed"

    content_id: str
    version: int
    task_id: str
    stage: str
    role: str
    claimed_by: str | None = None
    due_at: datetime
    urgent: bool = False

    def key(self) -> str:
        return self.content_id


# --- distribution (owned by distribute) ---------------------------------------------------


class DeliveryUpdated(EventData):
    """One target of one item changed delivery state."""

    TOPIC: ClassVar[str] = "delivery.updated"

    content_id: str
    version: int
    content_hash: str
    target: str
    state: str
    detail: str = ""

    def key(self) -> str:
        return self.content_id


class ContentPublished(EventData):
    """Every target of an approved version has been delivered."""

    TOPIC: ClassVar[str] = "content.published"

    content_id: str
    version: int
    content_hash: str
    targets: list[str]
    published_at: datetime

    def key(self) -> str:
        return self.content_id


class ReprintRequested(EventData):
    """A reprint rule (协同联动) asks the library for a reprint of a published original on a
    lower site's columns.

    `obligation_id` is the idempotency key: the library makes one reprint per obligation,
    copying the original's published version, with 来源 = `source_name` and a link to
    `original_url`. `mode` says whether the lower site's editors accepted it (`proposed`) or
    the rule made it on its own (`automatic`, reduced review per the lower site's reprint
    policy).
    """

    TOPIC: ClassVar[str] = "reprint.requested"

    obligation_id: str
    original_id: str
    original_version: int
    source_site: str
    source_name: str
    original_url: str | None = None
    site: str
    columns: list[str]
    mode: Literal["automatic", "proposed"]
    requested_by: str

    def key(self) -> str:
        return self.original_id


class ReprintRetractionRequested(EventData):
    """The original was retracted: the library retracts this reprint of it too."""

    TOPIC: ClassVar[str] = "reprint.retraction_requested"

    obligation_id: str
    original_id: str
    reprint_id: str
    site: str
    reason: str

    def key(self) -> str:
        return self.reprint_id


class ReprintDeadlineWarning(EventData):
    """A lower site's reprint of an original is due soon and not live yet."""

    TOPIC: ClassVar[str] = "reprint.deadline_warning"

    obligation_id: str
    original_id: str
    site: str
    unit: str
    due_at: datetime
    hours_left: float

    def key(self) -> str:
        return self.obligation_id


class ReprintDeadlineBreached(EventData):
    """A lower site's reprint deadline passed with the reprint not live."""

    TOPIC: ClassVar[str] = "reprint.deadline_breached"

    obligation_id: str
    original_id: str
    site: str
    unit: str
    due_at: datetime
    state: str

    def key(self) -> str:
        return self.obligation_id


# --- cases (owned by interaction) -----------------------------------------------------------


class CaseEventData(EventData):
    """Base of every `case.*` transition: which case, what moved, who did it, and why.

    Carries no personal data of the citizen (no name, phone, e-mail or original text).
    """

    case_id: str
    number: str
    kind: str
    action: str
    from_state: str | None = None
    to_state: str
    actor: str
    department: str | None = None
    co_departments: list[str] = []
    reason: str = ""
    due_on: str | None = None
    due_provisional: bool = False
    occurred_at: datetime

    def key(self) -> str:
        return self.case_id


class CaseReceived(CaseEventData):
    TOPIC: ClassVar[str] = "case.received"


class CaseScreened(CaseEventData):
    """Screening ended without acceptance: not accepted (reason), merged or spam."""

    TOPIC: ClassVar[str] = "case.screened"


class CaseAccepted(CaseEventData):
    TOPIC: ClassVar[str] = "case.accepted"


class CaseDispatched(CaseEventData):
    """Sent to a lead department with co-handlers (also 纠错 forwarded to the site owner)."""

    TOPIC: ClassVar[str] = "case.dispatched"


class CaseReturned(CaseEventData):
    """A department handed the case back with a reason; the statutory clock kept running."""

    TOPIC: ClassVar[str] = "case.returned"


class CaseProgressed(CaseEventData):
    """Handling moved on: started, suspended, resumed, fixing, verified, opinion, reply returned."""

    TOPIC: ClassVar[str] = "case.progressed"


class CaseExtension(CaseEventData):
    """An extension was requested, approved or denied."""

    TOPIC: ClassVar[str] = "case.extension"


class CaseReplySubmitted(CaseEventData):
    TOPIC: ClassVar[str] = "case.reply_submitted"


class CaseReplied(CaseEventData):
    """The reviewed unified reply was sent to the citizen; `reason` holds the outcome's reason."""

    TOPIC: ClassVar[str] = "case.replied"

    outcome: str = ""


class CaseFollowedUp(CaseEventData):
    """Satisfaction recorded, reopened, supervised (督办) or closed."""

    TOPIC: ClassVar[str] = "case.followed_up"

    rating: str | None = None


class CaseWithdrawn(CaseEventData):
    TOPIC: ClassVar[str] = "case.withdrawn"


class CasePublished(CaseEventData):
    """The masked public rendition was approved and is listed for the public."""

    TOPIC: ClassVar[str] = "case.published"


class CaseDeadlineChanged(CaseEventData):
    """A clock's due date moved (extension, suspension, calendar import); never earlier."""

    TOPIC: ClassVar[str] = "case.deadline_changed"

    clock: str


class CaseDeadlineWarning(CaseEventData):
    """T−2 or T−1 working days before a clock's due date."""

    TOPIC: ClassVar[str] = "case.deadline_warning"

    clock: str
    working_days_left: int


class CaseDeadlineBreached(CaseEventData):
    """A clock passed its due date unmet; the breach stays in the statistics."""

    TOPIC: ClassVar[str] = "case.deadline_breached"

    clock: str


CONTRACTS: tuple[type[EventData], ...] = (
    ContentIngested,
    ContentRetractionRequested,
    ContentSubmitted,
    ContentScheduleChanged,
    ReviewStarted,
    ReviewDecided,
    ReviewDeadlinePassed,
    DeliveryUpdated,
    ContentPublished,
    ReprintRequested,
    ReprintRetractionRequested,
    ReprintDeadlineWarning,
    ReprintDeadlineBreached,
    CaseReceived,
    CaseScreened,
    CaseAccepted,
    CaseDispatched,
    CaseReturned,
    CaseProgressed,
    CaseExtension,
    CaseReplySubmitted,
    CaseReplied,
    CaseFollowedUp,
    CaseWithdrawn,
    CasePublished,
    CaseDeadlineChanged,
    CaseDeadlineWarning,
    CaseDeadlineBreached,
)


def all_topics(extra: tuple[str, ...] = ()) -> list[str]:
    """Every topic the hub uses, with their dead-letter topics."""
    topics = sorted({c.TOPIC for c in CONTRACTS} | set(extra))
    return topics + [dead_letter_topic(t) for t in topics]


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"
