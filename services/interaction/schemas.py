"""What the interaction API accepts, and what it answers (`*Public`).

The routes render their answers with orjson from plain dicts built by the domain; the `*Public`
models document those answers field for field (OpenAPI `response_model`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

CaseKind = Literal["message", "mailbox", "consultation", "complaint", "suggestion", "correction"]
Publicity = Literal["public", "private", "anonymous"]
MOBILE = r"^(\+?86[ -]?)?1[3-9]\d{9}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseSubmission(Strict):
    """A citizen's case. `website` is a honeypot: people never see it, bots fill it in."""

    kind: CaseKind
    title: str = Field(min_length=2, max_length=200)
    body: str = Field(min_length=5, max_length=20_000)
    name: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, pattern=MOBILE)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    publicity: Publicity = "private"
    page_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    content_id: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    form_token: str | None = Field(default=None, max_length=100)
    website: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _rules(self) -> CaseSubmission:
        if self.kind == "correction" and not (self.page_url or self.content_id):
            raise ValueError("纠错须注明页面地址 page_url 或内容编号 content_id")
        if self.kind != "correction" and not self.phone:
            raise ValueError("请填写手机号码 phone，便于联系和回访")
        return self


class Reason(Strict):
    reason: str | None = Field(default=None, max_length=2000)


class Merge(Strict):
    into: str = Field(min_length=1, max_length=20)


class Dispatch(Strict):
    lead_department: str = Field(min_length=1, max_length=60)
    co_departments: list[str] = Field(default_factory=list, max_length=20)


class Forward(Strict):
    department: str = Field(min_length=1, max_length=60)


class Opinion(Strict):
    text: str = Field(min_length=1, max_length=20_000)


class ExtensionDecision(Strict):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)


class Reply(Strict):
    text: str = Field(min_length=1, max_length=50_000)
    outcome: str = Field(min_length=1, max_length=30)
    reason: str | None = Field(default=None, max_length=2000)


class Rating(Strict):
    token: str = Field(min_length=1, max_length=100)
    rating: str = Field(min_length=1, max_length=30)
    reason: str | None = Field(default=None, max_length=2000)


class PublicationDraft(Strict):
    """Optional edits of the public text; whatever is given is masked again."""

    title: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=50_000)
    reply: str | None = Field(default=None, max_length=50_000)


class DepartmentIn(Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")
    name: str = Field(min_length=1, max_length=200)
    active: bool = True


class NamedDay(Strict):
    date: date
    name: str = Field(min_length=1, max_length=40)


class CalendarImport(Strict):
    """A year as the State Council notice states it: days off and make-up working days."""

    notice: str = Field(min_length=1, max_length=200)
    holidays: list[NamedDay] = Field(min_length=1, max_length=60)
    makeup_workdays: list[NamedDay] = Field(default_factory=list, max_length=30)


class KnowledgeIn(Strict):
    question: str = Field(min_length=2, max_length=5000)
    answer: str = Field(min_length=2, max_length=50_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    department: str | None = Field(default=None, max_length=60)
    valid_from: date | None = None
    valid_until: date | None = None


class KnowledgeFromCase(Strict):
    question: str | None = Field(default=None, max_length=5000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    valid_until: date | None = None


QuestionType = Literal["single", "multiple", "text", "rating"]


class SurveyQuestion(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,30}$")
    type: QuestionType
    text: str = Field(min_length=1, max_length=1000)
    options: list[str] = Field(default_factory=list, max_length=50)
    required: bool = True
    publish_text: bool = False  # free-text answers are published only if chosen, and masked

    @model_validator(mode="after")
    def _options(self) -> SurveyQuestion:
        if self.type in ("single", "multiple") and len(self.options) < 2:
            raise ValueError("选择题至少需要两个选项")
        return self


class SurveyIn(Strict):
    title: str = Field(min_length=2, max_length=300)
    description: str = Field(default="", max_length=20_000)
    kind: Literal["survey", "solicitation"] = "survey"
    department: str | None = Field(default=None, max_length=60)
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=100)
    opens_at: datetime
    closes_at: datetime
    one_per: Literal["session", "phone", "account"] = "session"

    @model_validator(mode="after")
    def _window(self) -> SurveyIn:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at 必须晚于 opens_at")
        if len({q.id for q in self.questions}) != len(self.questions):
            raise ValueError("问题编号 id 不能重复")
        return self


class SurveyAnswer(Strict):
    answers: dict[str, str | list[str] | int]
    session_id: str | None = Field(default=None, min_length=8, max_length=100)
    phone: str | None = Field(default=None, pattern=MOBILE)
    website: str | None = None


class AdoptionReport(Strict):
    summary: str = Field(min_length=1, max_length=20_000)
    adopted: int = Field(ge=0)
    not_adopted_reasons: list[str] = Field(default_factory=list, max_length=100)


class InterviewIn(Strict):
    title: str = Field(min_length=2, max_length=300)
    description: str = Field(default="", max_length=20_000)
    guests: list[str] = Field(min_length=1, max_length=20)
    site: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")
    department: str | None = Field(default=None, max_length=60)
    starts_at: datetime


class InterviewQuestionIn(Strict):
    text: str = Field(min_length=2, max_length=5000)
    name: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, pattern=MOBILE)
    website: str | None = None


class Moderation(Strict):
    action: Literal["approve", "reject", "merge", "pick"]
    into: int | None = None
    substantive: bool = True


class Answer(Strict):
    guest: str = Field(min_length=1, max_length=100)
    answer: str = Field(min_length=1, max_length=50_000)


class Transcript(Strict):
    text: str | None = Field(default=None, max_length=500_000)


class ApiCaseSubmission(CaseSubmission):
    """A case filed by a machine client (Open311): the API key stands behind it, no phone needed."""

    @model_validator(mode="after")
    def _rules(self) -> ApiCaseSubmission:
        if self.kind == "correction" and not (self.page_url or self.content_id):
            raise ValueError("纠错须注明页面地址 page_url 或内容编号 content_id")
        return self


# --- what the API answers --------------------------------------------------------------------

ItemT = TypeVar("ItemT")


class Public(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class Items(Public, Generic[ItemT]):
    """A whole (unpaged) list: `{"items": [...]}`."""

    items: list[ItemT]


class DueDatePublic(Public):
    from_: date = Field(alias="from")
    working_days: int
    due_on: date
    due_at: datetime  # the end of the due day, Asia/Shanghai
    provisional: bool
    time_zone: str


class CalendarDayPublic(Public):
    date: date
    is_workday: bool
    kind: str
    name: str
    provisional: bool


class CalendarImportedPublic(Public):
    year: int
    version: int | None
    notice: str
    recomputed_cases: int


class CalendarVersionPublic(Public):
    id: int | None
    year: int
    source: str
    notice: str
    imported_by: str
    imported_at: datetime
    recomputed_cases: int


class DepartmentPublic(Public):
    code: str
    name: str
    active: bool


class FormTokenPublic(Public):
    form_token: str
    min_seconds: float


class CaseReceiptPublic(Public):
    number: str
    token: str  # the private tracking token, shown once
    kind: str
    received_on: date
    due_on: date
    due_provisional: bool
    message: str


class CasePublicationPublic(Public):
    """A published case: masked text, the author's initial, the place at street level."""

    number: str
    kind: str
    title: str
    body: str
    reply: str
    author: str
    department: str | None
    address: str | None
    outcome: str | None
    outcome_label: str | None
    received_on: date
    replied_on: date | None
    published_at: datetime | None


class PublicationStatusPublic(CasePublicationPublic):
    status: str  # draft / approved


class QueueItemPublic(Public):
    number: str
    kind: str
    state: str
    title: str
    department: str | None
    received_on: date


class CaseHistoryPublic(Public):
    action: str
    label: str
    reason: str
    at: datetime


class CitizenCasePublic(Public):
    """The citizen's own case, read with the tracking token."""

    number: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    title: str
    body: str
    publicity: str
    received_on: date
    due_on: date | None
    due_provisional: bool
    department: str | None
    history: list[CaseHistoryPublic]
    reply: str | None
    outcome: str | None
    outcome_label: str | None
    outcome_reason: str | None
    satisfaction: str | None
    satisfaction_label: str | None
    satisfaction_token: str | None


class CaseClockPublic(Public):
    clock: str
    due_on: date
    provisional: bool
    running: bool
    met_on: date | None
    breached: bool


class CaseLogPublic(Public):
    action: str
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    at: datetime


class CaseStaffPublic(Public):
    """The full record for staff (no hashes), its clocks and its whole log."""

    id: str
    number: str
    kind: str
    state: str
    title: str
    body: str
    name: str
    phone: str
    email: str
    publicity: str
    page_url: str | None
    content_id: str | None
    source: str
    address: str | None
    lat: float | None
    long: float | None
    received_at: datetime
    received_on: date
    accepted_on: date | None
    lead_department: str | None
    co_departments: list[str]
    designated: bool
    return_count: int
    extension: str
    suspended_on: date | None
    suspended_days: int
    reopen_count: int
    supervised: bool
    merged_into: str | None
    outcome: str | None
    outcome_reason: str
    reply_draft: str
    reply_text: str
    replied_at: datetime | None
    replied_on: date | None
    reply_working_days: int | None
    satisfaction: str | None
    updated_at: datetime
    clocks: list[CaseClockPublic]
    log: list[CaseLogPublic]


class RatedPublic(Public):
    number: str
    state: str
    satisfaction: str | None


class RedactionPublic(Public):
    id: int | None
    subject: str
    field: str
    kind: str
    start: int
    length: int
    masked: str
    original_sha256: str
    actor: str
    at: datetime


class KnowledgeEntryPublic(Public):
    """An entry; `score` (bigram similarity) and `rank` (the index's) only on suggestions."""

    id: int | None
    question: str
    answer: str
    tags: list[str]
    department: str | None
    valid_from: date
    valid_until: date | None
    source_case: str | None
    created_at: datetime
    score: float | None = None
    rank: float | None = None


class AdoptionPublic(Public):
    received: int
    adopted: int
    summary: str
    not_adopted_reasons: list[str]


class SurveyPublic(Public):
    id: str
    title: str
    description: str
    kind: str
    department: str | None
    questions: list[SurveyQuestion]
    opens_at: datetime
    closes_at: datetime
    one_per: str
    status: str
    result_published: bool
    adoption: AdoptionPublic | None
    created_at: datetime
    phase: str  # draft / scheduled / open / closed / result_published


class SurveyReceiptPublic(Public):
    survey: str
    received_at: datetime


class QuestionResultPublic(Public):
    """Counts per option (choices), the average (ratings), masked texts (where chosen)."""

    id: str
    text: str
    type: str
    answered: int
    counts: dict[str, int] | None = None
    average: float | None = None
    texts: list[str] | None = None


class SurveyResultsPublic(Public):
    survey: str
    received: int
    questions: list[QuestionResultPublic]
    adoption: AdoptionPublic | None


class InterviewQuestionView(Public):
    id: int | None
    text: str
    answer: str | None
    state: str


class InterviewPublic(Public):
    id: str
    title: str
    description: str
    guests: list[str]
    site: str
    department: str | None
    starts_at: datetime
    state: str
    submission_id: str | None
    created_at: datetime
    questions: list[InterviewQuestionView]
    transcript: str | None


class QuestionStatePublic(Public):
    id: int | None
    state: str


class QuestionAnswerPublic(Public):
    id: int | None
    answer: str | None


class InterviewQuestionPublic(Public):
    """A question as the moderators see it (no phone number)."""

    id: int | None
    interview_id: str
    name: str
    text: str
    state: str
    merged_into: int | None
    substantive: bool
    answer: str | None
    answered_by: str | None
    case_number: str | None
    asked_at: datetime


class InterviewStatePublic(Public):
    id: str
    state: str


class InterviewTranscriptPublic(InterviewStatePublic):
    transcript: str


class InterviewApprovedPublic(InterviewStatePublic):
    submission_id: str | None
    cases: list[str]  # numbers of the cases opened for unanswered questions


class FiguresPublic(Public):
    received: int
    accepted: int
    replied: int
    on_time: int
    breached: int
    handling_rate: float | None
    on_time_rate: float | None
    average_working_days_to_reply: float | None
    satisfaction_rate: float | None


class CaseStatisticsPublic(Public):
    from_: date = Field(alias="from")
    to: date
    total: FiguresPublic
    departments: dict[str, FiguresPublic]
    formulas: dict[str, str]


class Open311Endpoint(Public):
    specification: str
    url: str
    type: str
    formats: list[str]


class Open311DiscoveryPublic(Public):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]


class Open311ServicePublic(Public):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class Open311Attribute(Public):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str


class Open311ServiceDefinitionPublic(Public):
    service_code: str
    attributes: list[Open311Attribute]


class Open311RequestPublic(Public):
    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime | None
    expected_datetime: datetime | None
    address: str
    lat: float | None
    long: float | None
    media_url: str


class Open311TokenPublic(Public):
    service_request_id: str
    token: str


class Open311CreatedPublic(Public):
    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None
