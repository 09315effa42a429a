"""The due-date endpoint and the yearly notice import that recomputes provisional deadlines."""

from __future__ import annotations

import httpx

from services.interaction.clock import FixedClock, shanghai
from tests.integration.interaction.conftest import ADMIN, OFFICE, submit

NOTICE_2027 = {
    "notice": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
    "holidays": [{"date": "2027-01-01", "name": "元旦"}]
    + [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(5, 13)],
    "makeup_workdays": [
        {"date": "2027-01-02", "name": "元旦"},
        {"date": "2027-02-20", "name": "春节"},
    ],
}


async def test_due_date_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/calendar/due-date?from=2025-09-26&working_days=7")
    assert response.status_code == 200
    assert response.json()["due_on"] == "2025-10-13" and response.json()["provisional"] is False
    assert response.json()["due_at"] == "2025-10-13T23:59:59+08:00"
    assert response.headers["etag"] and "max-age" in response.headers["cache-control"]
    again = await client.get(
        "/api/v1/calendar/due-date?from=2025-09-26&working_days=7",
        headers={"if-none-match": response.headers["etag"]},
    )
    assert again.status_code == 304
    makeup = (await client.get("/api/v1/calendar/due-date?from=2025-01-24&working_days=1")).json()
    assert makeup["due_on"] == "2025-01-26"
    future = (await client.get("/api/v1/calendar/due-date?from=2026-12-30&working_days=7")).json()
    assert future == {**future, "due_on": "2027-01-11", "provisional": True}


async def test_due_date_refuses_bad_input(client: httpx.AsyncClient) -> None:
    for query, field in (
        ("from=2025-13-01&working_days=7", "query.from"),
        ("from=2025-01-01&working_days=-1", "query.working_days"),
        ("from=2025-01-01", "query.working_days"),
    ):
        response = await client.get(f"/api/v1/calendar/due-date?{query}")
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


async def test_calendar_days_show_kinds(client: httpx.AsyncClient) -> None:
    days = (await client.get("/api/v1/calendar/days?from=2025-01-26&to=2025-01-28")).json()["items"]
    assert [(d["kind"], d["is_workday"]) for d in days] == [
        ("makeup", True),
        ("weekday", True),
        ("holiday", False),
    ]


async def test_import_recomputes_provisional_never_earlier(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    clock.set(shanghai(2026, 12, 30, 9))
    early = await submit(client, clock, title="元旦前的留言")
    assert (early["due_on"], early["due_provisional"]) == ("2027-01-11", True)
    clock.set(shanghai(2027, 2, 1, 9))
    late = await submit(client, clock, title="春节前的留言")
    assert (late["due_on"], late["due_provisional"]) == ("2027-02-12", True)

    refused = await client.post("/api/v1/calendar/years/2027", json=NOTICE_2027, headers=OFFICE)
    assert refused.status_code == 403
    wrong_year = {**NOTICE_2027, "makeup_workdays": [{"date": "2028-01-02", "name": "x"}]}
    bad = await client.post("/api/v1/calendar/years/2027", json=wrong_year, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "makeup_workdays"

    response = await client.post("/api/v1/calendar/years/2027", json=NOTICE_2027, headers=ADMIN)
    assert response.status_code == 201, response.text
    assert response.json()["recomputed_cases"] == 2

    # the official calendar would put the first one on 01-08: it stays where the citizen was told
    first = await client.get(f"/api/v1/cases/{early['number']}?token={early['token']}")
    assert (first.json()["due_on"], first.json()["due_provisional"]) == ("2027-01-11", False)
    # a longer official Spring Festival moves the second one later
    second = await client.get(f"/api/v1/cases/{late['number']}?token={late['token']}")
    assert (second.json()["due_on"], second.json()["due_provisional"]) == ("2027-02-18", False)
    official = (await client.get("/api/v1/calendar/due-date?from=2026-12-30&working_days=7")).json()
    assert (official["due_on"], official["provisional"]) == ("2027-01-08", False)
    versions = (await client.get("/api/v1/calendar/versions", headers=ADMIN)).json()["items"]
    assert versions[0]["source"] == "notice" and versions[0]["recomputed_cases"] == 2
