"""The department access rule of staff: the office sees every case, a handler their own."""

from __future__ import annotations

import pytest

from common.errors import Forbidden
from common.identity import Actor
from services.interaction import departments
from services.interaction.models import Case

OFFICE = Actor(id="o", name="o", roles=["office"])
HANDLER = Actor(id="h", name="h", roles=["handler"], department="edu")
LOST_HANDLER = Actor(id="x", name="x", roles=["handler"])
EDITOR = Actor(id="e", name="e", roles=["editor"])


def case(lead: str | None, co: list[str]) -> Case:
    return Case(lead_department=lead, co_departments=co)


def test_the_office_chooses_the_queue_a_handler_gets_their_own() -> None:
    assert departments.queue_department(OFFICE, None) is None
    assert departments.queue_department(OFFICE, "tax") == "tax"
    assert departments.queue_department(HANDLER, "tax") == "edu"
    assert departments.queue_department(LOST_HANDLER, None) == departments.NO_DEPARTMENT


def test_a_handler_reads_only_cases_their_department_leads_or_co_handles() -> None:
    departments.require_case_access(OFFICE, case("tax", []))
    departments.require_case_access(HANDLER, case("edu", []))
    departments.require_case_access(HANDLER, case("tax", ["edu"]))
    with pytest.raises(Forbidden):
        departments.require_case_access(HANDLER, case("tax", ["hr"]))
    with pytest.raises(Forbidden):
        departments.require_case_access(LOST_HANDLER, case("edu", []))


def test_staff_are_office_admin_and_handlers() -> None:
    assert departments.is_staff(HANDLER) and departments.is_staff(OFFICE)
    assert not departments.is_staff(EDITOR) and not departments.is_staff(None)
