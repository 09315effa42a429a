"""What the interaction API accepts (responses are plain dicts rendered with orjson)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

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
