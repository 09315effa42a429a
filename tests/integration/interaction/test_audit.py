"""Interaction chains its staff acts: a case's public rendition prepared and approved, department
changes and calendar imports, each in the act's own transaction; a refused act writes nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.interaction import audit
from services.interaction.clock import FixedClock
from services.interaction.models import AuditEntry
from tests.integration.interaction.conftest import ADMIN, OFFICE, OFFICE2
from tests.integration.interaction.test_features import PERSONAL, replied_case


async def entries(app: FastAPI) -> list[tuple[str, str, str]]:
    async with app.state.db.sessions() as session:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars()
        return [(r.actor, r.action, r.subject) for r in rows]


async def test_publication_departments_and_calendar_are_chained(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    before = await entries(app)  # the conftest's departments
    created = await replied_case(client, clock, body=PERSONAL)
    number = created["number"]
    await client.post(f"/api/v1/cases/{number}/publication", json={}, headers=OFFICE)
    refused = await client.post(f"/api/v1/cases/{number}/publication/approve", headers=OFFICE)
    assert refused.status_code == 403  # the preparer cannot approve: nothing recorded
    await client.post(f"/api/v1/cases/{number}/publication/approve", headers=OFFICE2)
    changed = await client.put(
        "/api/v1/departments/edu", json={"code": "edu", "name": "市教育局"}, headers=ADMIN
    )
    assert changed.status_code == 200
    year = {
        "notice": "国办发明电〔2026〕1号",
        "holidays": [{"date": "2027-01-01", "name": "元旦"}],
        "makeup_workdays": [],
    }
    imported = await client.post("/api/v1/calendar/years/2027", json=year, headers=ADMIN)
    assert imported.status_code == 201, imported.text

    new = (await entries(app))[len(before) :]
    case_subject = new[0][2]
    assert new == [
        ("office1", "publication.prepared", case_subject),
        ("office2", "publication.approved", case_subject),
        ("admin", "department.changed", "department:edu"),
        ("admin", "calendar.imported", "calendar:2027"),
    ]
    async with app.state.db.sessions() as session:
        rows = list((await session.execute(select(AuditEntry))).scalars())
        assert all("13812345678" not in row.data and "张三" not in row.data for row in rows)
        assert (await audit.CHAIN.verify(session)).ok
