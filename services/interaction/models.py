"""The interaction service's tables (its own metadata, its own database) and the outbox/inbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import JSON, Column, Date, Table, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.audit_chain import AuditEntryFields, AuditHeadFields
from common.columns import timestamp_field
from common.db import new_metadata
from common.messaging import Outbox, messaging_tables

metadata = new_metadata()
tables = messaging_tables(metadata)
OUTBOX = Outbox(tables, source="/kitchen/interaction")


def _json(nullable: bool = False) -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=nullable))


def _text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False))


class InteractionTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the interaction service's tables."""

    if TYPE_CHECKING:  # SQLAlchemy sets it on every table class; declared for the type checker
        __table__: ClassVar[Table]


# --- calendar ------------------------------------------------------------------------------


class CalendarDayRow(InteractionTable, table=True):
    """One date: working day or not, and whether an official notice stands behind it."""

    __tablename__ = "calendar_day"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    is_workday: bool
    kind: str = Field(max_length=10)  # weekday / weekend / holiday / makeup
    name: str = Field(default="", max_length=40)
    official: bool
    version: int = Field(index=True)


class CalendarVersion(InteractionTable, table=True):
    """Each load of a year: the seed from chinesecalendar, a provisional year, a notice import."""

    __tablename__ = "calendar_version"

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    source: str = Field(max_length=20)  # chinesecalendar / provisional / notice
    notice: str = Field(default="", max_length=200)
    imported_by: str = Field(max_length=100)
    imported_at: datetime = timestamp_field()
    recomputed_cases: int = 0


# --- departments and cases ----------------------------------------------------------------


class Department(InteractionTable, table=True):
    __tablename__ = "department"

    code: str = Field(primary_key=True, max_length=60)
    name: str = Field(max_length=200)
    active: bool = True


class Case(InteractionTable, table=True):
    """One citizen case. `title`/`body` and the contact fields are the sealed original."""

    __tablename__ = "case_record"

    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(unique=True, max_length=20)
    kind: str = Field(index=True, max_length=20)
    state: str = Field(index=True, max_length=30)
    title: str = Field(max_length=200)
    body: str = _text()
    name: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=30)
    email: str = Field(default="", max_length=200)
    phone_hash: str = Field(default="", index=True, max_length=64)
    content_hash: str = Field(index=True, max_length=64)
    publicity: str = Field(max_length=12)  # public / private / anonymous
    page_url: str | None = Field(default=None, max_length=1000)
    content_id: str | None = Field(default=None, max_length=40)
    source: str = Field(default="web", max_length=20)  # web / open311 / interview
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    long: float | None = None
    token_hash: str = Field(max_length=64)
    received_at: datetime = timestamp_field(index=True)
    received_on: date = Field(sa_column=Column(Date, nullable=False, index=True))
    accepted_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    lead_department: str | None = Field(default=None, index=True, max_length=60)
    co_departments: list[str] = _json()
    designated: bool = False
    return_count: int = 0
    extension: str = Field(default="none", max_length=12)  # none/requested/approved/denied
    suspended_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    suspended_days: int = 0
    reopen_count: int = 0
    supervised: bool = False
    merged_into: str | None = Field(default=None, max_length=20)
    outcome: str | None = Field(default=None, max_length=30)
    outcome_reason: str = _text()
    reply_draft: str = _text()
    reply_text: str = _text()
    replied_at: datetime | None = timestamp_field(nullable=True)
    replied_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # working days in (received_on, replied_on], fixed at reply time (statistics sum it in SQL)
    reply_working_days: int | None = None
    satisfaction: str | None = Field(default=None, max_length=20)
    updated_at: datetime = timestamp_field()


class CaseClock(InteractionTable, table=True):
    """A statutory clock of a case ('reply', or 纠错's 'forward'); due = anchor + N + paused.

    `told_on` is the due date the citizen was shown: a recomputation never goes earlier.
    """

    __tablename__ = "case_clock"
    __table_args__ = (UniqueConstraint("case_id", "clock"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=40)
    clock: str = Field(max_length=12)
    anchor_on: date = Field(sa_column=Column(Date, nullable=False))
    working_days: int
    paused_days: int = 0
    due_on: date = Field(sa_column=Column(Date, nullable=False, index=True))
    provisional: bool = False
    told_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    running: bool = Field(default=True, index=True)
    met_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    breached: bool = False


class CaseAlarm(InteractionTable, table=True):
    """A warning or breach that fired; the unique key is what makes firing happen once."""

    __tablename__ = "case_alarm"
    __table_args__ = (UniqueConstraint("case_id", "clock", "kind", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=40)
    clock: str = Field(max_length=12)
    kind: str = Field(max_length=12)  # t-2 / t-1 / breach
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    fired_at: datetime = timestamp_field()


class CaseLog(InteractionTable, table=True):
    """Every transition; `public` entries are shown to the citizen with the tracking token."""

    __tablename__ = "case_log"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=40)
    action: str = Field(max_length=30)
    from_state: str | None = Field(default=None, max_length=30)
    to_state: str = Field(max_length=30)
    actor: str = Field(max_length=100)
    department: str | None = Field(default=None, max_length=60)
    reason: str = _text()
    public: bool = False
    at: datetime = timestamp_field()


class CaseAssignment(InteractionTable, table=True):
    """A department's own share of a case, with its own time (the statutory clock is separate)."""

    __tablename__ = "case_assignment"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=40)
    department: str = Field(max_length=60)
    role: str = Field(max_length=6)  # lead / co
    assigned_on: date = Field(sa_column=Column(Date, nullable=False))
    assigned_at: datetime = timestamp_field()
    ended_at: datetime | None = timestamp_field(nullable=True)
    returned_reason: str | None = None
    opinion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SatisfactionLink(InteractionTable, table=True):
    """A single-use link for one satisfaction attempt."""

    __tablename__ = "satisfaction_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=40)
    attempt: int
    created_at: datetime = timestamp_field()
    used_at: datetime | None = timestamp_field(nullable=True)
    rating: str | None = Field(default=None, max_length=20)
    reason: str | None = None


class Publication(InteractionTable, table=True):
    """The masked public rendition of a case; public only once a staff member approved it."""

    __tablename__ = "publication"

    case_id: str = Field(foreign_key="case_record.id", primary_key=True, max_length=40)
    number: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=300)
    body: str = _text()
    reply: str = _text()
    author: str = Field(max_length=60)
    department: str | None = Field(default=None, max_length=60)
    outcome: str | None = Field(default=None, max_length=30)
    received_on: date = Field(sa_column=Column(Date, nullable=False))
    replied_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # the place as published: district/street level, coordinates rounded to two decimals
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    long: float | None = None
    status: str = Field(default="draft", index=True, max_length=10)  # draft / approved
    prepared_by: str = Field(max_length=100)
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = timestamp_field(nullable=True, index=True)


class Redaction(InteractionTable, table=True):
    """One masked occurrence; the original is kept only as a hash, never in clear."""

    __tablename__ = "redaction"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=60)  # case:<id>, survey:<id>, interview:<id>
    field: str = Field(max_length=40)
    kind: str = Field(max_length=12)
    start: int
    length: int
    masked: str = Field(max_length=60)
    original_sha256: str = Field(max_length=64)
    actor: str = Field(max_length=100)
    at: datetime = timestamp_field()


class SubmissionAttempt(InteractionTable, table=True):
    """Public submissions per IP and phone, for rate limits shared by every replica."""

    __tablename__ = "submission_attempt"

    id: int | None = Field(default=None, primary_key=True)
    ip: str = Field(index=True, max_length=64)
    phone_hash: str = Field(default="", index=True, max_length=64)
    at: datetime = timestamp_field(index=True)


# --- knowledge base, surveys, interviews --------------------------------------------------


class KnowledgeEntry(InteractionTable, table=True):
    __tablename__ = "knowledge_entry"

    id: int | None = Field(default=None, primary_key=True)
    question: str = _text()
    answer: str = _text()
    tags: list[str] = _json()
    department: str | None = Field(default=None, max_length=60)
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_until: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    source_case: str | None = Field(default=None, max_length=20)
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp_field()


class Survey(InteractionTable, table=True):
    __tablename__ = "survey"

    id: str = Field(primary_key=True, max_length=40)
    title: str = Field(max_length=300)
    description: str = _text()
    kind: str = Field(max_length=12)  # survey / solicitation
    department: str | None = Field(default=None, max_length=60)
    questions: list[dict[str, Any]] = _json()
    opens_at: datetime = timestamp_field()
    closes_at: datetime = timestamp_field()
    one_per: str = Field(max_length=10)  # session / phone / account
    status: str = Field(default="draft", max_length=12)  # draft / scheduled / published
    result_published: bool = False
    adoption: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp_field()


class SurveyResponse(InteractionTable, table=True):
    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("survey_id", "respondent_key"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: str = Field(foreign_key="survey.id", index=True, max_length=40)
    respondent_key: str = Field(max_length=64)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = timestamp_field()


class Interview(InteractionTable, table=True):
    __tablename__ = "interview"

    id: str = Field(primary_key=True, max_length=40)
    title: str = Field(max_length=300)
    description: str = _text()
    guests: list[str] = _json()
    site: str = Field(max_length=60)
    department: str | None = Field(default=None, max_length=60)
    starts_at: datetime = timestamp_field()
    state: str = Field(max_length=20)  # announced / live / ended / transcript_review / published
    transcript: str = _text()
    transcript_by: str | None = Field(default=None, max_length=100)
    approved_by: str | None = Field(default=None, max_length=100)
    submission_id: str | None = Field(default=None, max_length=40)
    created_by: str = Field(max_length=100)
    created_at: datetime = timestamp_field()


class InterviewQuestion(InteractionTable, table=True):
    __tablename__ = "interview_question"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str = Field(foreign_key="interview.id", index=True, max_length=40)
    name: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=30)
    text: str = _text()
    state: str = Field(default="pending", max_length=12)  # pending/approved/rejected/merged/picked
    merged_into: int | None = None
    substantive: bool = True
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, max_length=100)
    case_number: str | None = Field(default=None, max_length=20)
    asked_at: datetime = timestamp_field()


# --- the audit chain (common.audit_chain) ----------------------------------------------------


class AuditEntry(InteractionTable, AuditEntryFields, table=True):
    """One link of interaction's audit chain (staff acts); never updated or deleted."""

    __tablename__ = "audit_entry"


class AuditHead(InteractionTable, AuditHeadFields, table=True):
    """Interaction's chain newest (seq, hash); locked by every append."""

    __tablename__ = "audit_head"
