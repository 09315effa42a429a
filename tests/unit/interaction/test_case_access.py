"""Who may read a case: the office sees all, a handler only what their department handles."""

from __future__ import annotations

import pytest

from common.errors import Forbidden
from common.identity import Actor
from services.interaction.departments import require_case_access
from services.interaction.models import Case


def _case(lead: str | None, co: list[str] | None = None) -> Case:
    return Case(lead_department=lead, co_departments=co or [])


def _handler(department: str | None) -> Actor:
    return Actor(id="h1", name="承办人", roles=["handler"], department=department)


def test_a_handler_reads_what_their_department_leads_or_co_handles() -> None:
    require_case_access(_handler("edu"), _case("edu"))
    require_case_access(_handler("edu"), _case("health", ["edu"]))
    with pytest.raises(Forbidden):
        require_case_access(_handler("edu"), _case("health"))


def test_a_handler_without_a_department_reads_no_case_not_even_an_unassigned_one() -> None:
    with pytest.raises(Forbidden):
        require_case_access(_handler(None), _case(None))
    with pytest.raises(Forbidden):
        require_case_access(_handler(None), _case("edu"))


def test_the_office_reads_every_case() -> None:
    office = Actor(id="o1", name="办公室", roles=["office"])
    require_case_access(office, _case(None))
    require_case_access(office, _case("edu"))
