"""Reprint linkage (转载协同联动): rules over the site tree, obligations made once per (original,
lower site), proposals answered by the lower site, the reprint going live, retraction fan-out,
and the reprint clock (clock hours, weekends included; warnings and breaches exactly once)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from common.events import ContentRetractionRequested
from common.jobs import run_pass
from common.testing import staff
from services.distribute import publishing, reprints
from services.distribute.app import create_app
from services.distribute.models import Release
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    Distribute,
    FakeIngest,
    approved,
    ingested,
    make_settings,
)

CITY_EDITOR = staff("city-editor", ("editor",), sites=["city"])
COUNTY_EDITOR = staff("county-editor", ("editor",), sites=["county"])
SHANGHAI_FRIDAY_1800 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # Fri 18:00 +08:00


def rule(**overrides: Any) -> dict[str, Any]:
    return {
        "source_site": "province",
        "scope": "children",
        "target_columns": ["notices"],
        "mode": "automatic",
    } | overrides


async def add_rule(distribute: Distribute, **overrides: Any) -> dict[str, Any]:
    created = await distribute.client.post(
        "/api/v1/reprint-rules", json=rule(**overrides), headers=ADMIN
    )
    assert created.status_code == 201, created.text
    return created.json()


async def obligations(distribute: Distribute, query: str = "") -> list[dict[str, Any]]:
    listed = await distribute.client.get(f"/api/v1/reprints{query}", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def field_of(response: httpx.Response) -> str:
    """The field a problem+json answer names first."""
    field: str = response.json()["errors"][0]["field"]
    return field.removeprefix("body.").removeprefix("query.").removeprefix("path.")


def clock_at(monkeypatch: pytest.MonkeyPatch, module: Any) -> Callable[[datetime], None]:
    """Set what `utcnow()` answers in `module` (publishing: the publication time; reprints:
    the clock's now)."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(module, "utcnow", lambda: moment)

    return set_to


async def test_rule_admin_api_round_trip(distribute: Distribute) -> None:
    created = await add_rule(distribute, kind="policy", deadline_hours=12)
    assert created["deadline_hours"] == 12 and created["scope"] == "children"
    path = f"/api/v1/reprint-rules/{created['id']}"
    assert (await distribute.client.get(path, headers=ADMIN)).json() == created
    listed = (await distribute.client.get("/api/v1/reprint-rules", headers=ADMIN)).json()
    assert [r["id"] for r in listed["items"]] == [created["id"]]

    patched = await distribute.client.patch(path, json={"mode": "proposed"}, headers=ADMIN)
    assert patched.status_code == 200 and patched.json()["mode"] == "proposed"
    assert patched.json()["kind"] == "policy" and patched.json()["deadline_hours"] == 12
    replaced = await distribute.client.put(path, json=rule(scope="descendants"), headers=ADMIN)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["kind"] is None and replaced.json()["deadline_hours"] == 24

    assert (await distribute.client.delete(path, headers=ADMIN)).status_code == 204
    missing = await distribute.client.get(path, headers=ADMIN)
    assert missing.status_code == 404 and field_of(missing) == "id"


async def test_rule_input_and_authz_problems(distribute: Distribute) -> None:
    async def post(body: dict[str, Any], headers: Any = ADMIN) -> httpx.Response:
        return await distribute.client.post("/api/v1/reprint-rules", json=body, headers=headers)

    refused = await post(rule(), EDITOR)
    assert refused.status_code == 403
    unknown = await post(rule(source_site="nowhere"))
    assert unknown.status_code == 422 and field_of(unknown) == "source_site"
    empty = await post(rule(scope="list"))
    assert empty.status_code == 422 and field_of(empty) == "target_sites"
    upward = await post(rule(source_site="city", scope="list", target_sites=["province"]))
    assert upward.status_code == 422 and field_of(upward) == "target_sites"
    assert "province" in upward.json()["detail"]
    bad_mode = await post(rule(mode="sometimes"))
    assert bad_mode.status_code == 422 and "mode" in bad_mode.text
    bad_id = await distribute.client.get("/api/v1/reprint-rules/x%20y", headers=ADMIN)
    assert bad_id.status_code == 422
    scoped = staff("county-admin", ("admin",), sites=["county"])
    assert (await post(rule(), scoped)).status_code == 403


async def test_the_clock_starts_when_the_page_is_public_not_when_every_outlet_answered(
    distribute: Distribute,
) -> None:
    """An app subscriber that has not answered yet keeps the release `delivering`; the page is
    public all the same, so the lower sites owe their reprint from that moment."""
    endpoint = {"url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "A" * 32}
    created = await distribute.client.post(
        "/api/v1/webhook-endpoints", json=endpoint, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    await add_rule(distribute)
    await distribute.publish(ingested("c1"))
    async with distribute.app.state.db.sessions() as session:
        release = await session.get(Release, ("c1", 1))
        assert release is not None and release.state == "delivering"
    [city] = await obligations(distribute)
    assert city["site"] == "city" and city["state"] == "requested"


async def test_children_rule_requests_automatic_reprints_once(distribute: Distribute) -> None:
    made = await add_rule(distribute, target_columns=["notices", "no-such-column"])
    item = ingested("c1")
    await distribute.publish(item)

    [city] = await obligations(distribute)  # county is a grandchild: not a child
    assert city["site"] == "city" and city["unit"] == "成都市人民政府"
    assert city["state"] == "requested" and city["rule_id"] == made["id"]
    assert city["columns"] == ["notices"]  # the city has no `no-such-column`
    published = datetime.fromisoformat(city["original_published_at"])
    assert datetime.fromisoformat(city["due_at"]) - published == timedelta(hours=24)
    [request] = await distribute.outbox("reprint.requested")
    assert request == {
        "topic": "reprint.requested",
        "obligation_id": city["id"],
        "original_id": "c1",
        "original_version": 1,
        "source_site": "province",
        "source_name": "四川省人民政府",
        "original_url": "https://www.sc.gov.cn/notices/c1.html",
        "site": "city",
        "columns": ["notices"],
        "mode": "automatic",
        "requested_by": f"rule:{made['id']}",
    }

    await distribute.handle(approved(item))  # a redelivered approval
    correction = ingested("c1", version=2)  # a corrected version is published too
    await distribute.publish(correction)
    assert len(await obligations(distribute)) == 1
    assert len(await distribute.outbox("reprint.requested")) == 1


async def test_descendants_list_and_kind(distribute: Distribute) -> None:
    await add_rule(distribute, scope="descendants", kind="notice", deadline_hours=12)
    await add_rule(distribute, scope="list", target_sites=["county"], kind="policy")
    await distribute.publish(ingested("n1"))
    await distribute.publish(ingested("p1", kind="policy", columns=["policies"]))
    await distribute.publish(ingested("x1", kind="news", columns=["news"]))  # no rule: none

    found = {(o["original_id"], o["site"]): o for o in await obligations(distribute)}
    assert sorted(found) == [("n1", "city"), ("n1", "county"), ("p1", "county")]
    assert {found[("n1", s)]["deadline_hours"] for s in ("city", "county")} == {12}
    assert found[("p1", "county")]["deadline_hours"] == 24
    county = await obligations(distribute, "?site=county")
    assert {o["original_id"] for o in county} == {"n1", "p1"}
    scoped = await distribute.client.get("/api/v1/reprints", headers=CITY_EDITOR)
    assert [o["site"] for o in scoped.json()["items"]] == ["city"]


async def test_oldest_rule_wins_for_a_site(distribute: Distribute) -> None:
    first = await add_rule(distribute, mode="proposed")
    await add_rule(distribute, scope="descendants")
    await distribute.publish(ingested("c1"))
    found = {o["site"]: o for o in await obligations(distribute)}
    assert found["city"]["rule_id"] == first["id"] and found["city"]["state"] == "proposed"
    assert found["county"]["state"] == "requested"
    assert [r["site"] for r in await distribute.outbox("reprint.requested")] == ["county"]


async def test_proposal_accepted_or_declined_by_the_lower_site(distribute: Distribute) -> None:
    await add_rule(distribute, scope="descendants", mode="proposed")
    await distribute.publish(ingested("c1"))
    found = {o["site"]: o for o in await obligations(distribute, "?state=proposed")}
    assert sorted(found) == ["city", "county"]
    assert await distribute.outbox("reprint.requested") == []
    city, county = found["city"]["id"], found["county"]["id"]

    outside = await distribute.client.post(f"/api/v1/reprints/{city}/accept", headers=COUNTY_EDITOR)
    assert outside.status_code == 404 and field_of(outside) == "obligation_id"
    accepted = await distribute.client.post(f"/api/v1/reprints/{city}/accept", headers=CITY_EDITOR)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["decided_by"] == "city-editor"
    [request] = await distribute.outbox("reprint.requested")
    assert request["mode"] == "proposed" and request["requested_by"] == "city-editor"
    assert request["site"] == "city" and request["obligation_id"] == city
    again = await distribute.client.post(f"/api/v1/reprints/{city}/accept", headers=CITY_EDITOR)
    assert again.status_code == 409

    no_reason = await distribute.client.post(
        f"/api/v1/reprints/{county}/decline", json={}, headers=COUNTY_EDITOR
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    declined = await distribute.client.post(
        f"/api/v1/reprints/{county}/decline",
        json={"reason": "本站已有同题稿件"},
        headers=COUNTY_EDITOR,
    )
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    assert declined.json()["detail"] == "本站已有同题稿件"
    late = await distribute.client.post(f"/api/v1/reprints/{county}/accept", headers=COUNTY_EDITOR)
    assert late.status_code == 409
    assert len(await distribute.outbox("reprint.requested")) == 1
    reviewer = staff("reviewer", ("reviewer",))
    denied = await distribute.client.post(f"/api/v1/reprints/{city}/accept", headers=reviewer)
    assert denied.status_code == 403


async def test_published_reprint_makes_the_obligation_live(distribute: Distribute) -> None:
    await add_rule(distribute)
    await distribute.publish(ingested("c1"))
    reprint = ingested("r1", site="city", is_reprint=True, reprint_of="c1")
    await distribute.handle(reprint)
    [linked] = await obligations(distribute)
    assert linked["reprint_id"] == "r1" and linked["state"] == "requested"
    await distribute.handle(approved(reprint))
    [live] = await obligations(distribute)
    assert live["state"] == "live" and live["live_at"] is not None
    assert await distribute.outbox("reprint.requested") != []
    # a reprint sets off no rule of its own: nothing is asked of the city's children
    assert [o["original_id"] for o in await obligations(distribute)] == ["c1"]


async def test_retraction_fans_out_to_the_reprints(distribute: Distribute) -> None:
    await add_rule(distribute, scope="descendants")
    await distribute.publish(ingested("c1"))
    city_reprint = ingested("r-city", site="city", is_reprint=True, reprint_of="c1")
    await distribute.publish(city_reprint)
    retract = ContentRetractionRequested(content_id="c1", reason="原稿有误", requested_by="editor")
    await distribute.handle(retract)

    found = {o["site"]: o for o in await obligations(distribute)}
    assert found["city"]["state"] == "retraction_requested"
    assert found["county"]["state"] == "retracted"  # nothing went out there yet
    [asked] = await distribute.outbox("reprint.retraction_requested")
    assert asked == {
        "topic": "reprint.retraction_requested",
        "obligation_id": found["city"]["id"],
        "original_id": "c1",
        "reprint_id": "r-city",
        "site": "city",
        "reason": "原稿有误",
    }
    await distribute.handle(retract)  # asked again: nothing more
    assert len(await distribute.outbox("reprint.retraction_requested")) == 1

    # the library retracted the reprint: its own retraction comes back
    done = ContentRetractionRequested(content_id="r-city", reason="原稿有误", requested_by="x")
    await distribute.handle(done)
    assert {o["site"]: o["state"] for o in await obligations(distribute)} == {
        "city": "retracted",
        "county": "retracted",
    }

    # the county's reprint crossed the retraction: it is retracted as soon as it is known
    await distribute.handle(ingested("r-county", site="county", is_reprint=True, reprint_of="c1"))
    county = {o["site"]: o for o in await obligations(distribute)}["county"]
    assert county["state"] == "retraction_requested" and county["reprint_id"] == "r-county"
    crossed = await distribute.outbox("reprint.retraction_requested")
    assert [a["reprint_id"] for a in crossed] == ["r-city", "r-county"]


async def test_clock_across_a_weekend_warns_and_breaches_once(
    distribute: Distribute, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_at(monkeypatch, publishing)(SHANGHAI_FRIDAY_1800)
    now = clock_at(monkeypatch, reprints)
    await add_rule(distribute)
    await distribute.publish(ingested("c1"))
    [city] = await obligations(distribute)
    # clock hours: 24 h from Friday 18:00 is Saturday 18:00, weekend or not
    assert city["original_published_at"] == "2026-12-04T18:00:00+08:00"
    assert city["due_at"] == "2026-12-05T18:00:00+08:00"

    [job] = [j for j in distribute.app.state.spec.jobs if j.name == "reprint-clock"]

    async def tick(moment: datetime) -> int:
        now(moment)
        return await run_pass(distribute.app.state.db, job)

    saturday = SHANGHAI_FRIDAY_1800 + timedelta(days=1)
    assert await tick(saturday - timedelta(hours=3)) == 0  # 3 h left: no warning yet
    assert await tick(saturday - timedelta(hours=1, minutes=30)) == 1
    assert await tick(saturday - timedelta(hours=1)) == 0  # warned once
    [warning] = await distribute.outbox("reprint.deadline_warning")
    assert warning["hours_left"] == 1.5 and warning["unit"] == "成都市人民政府"
    assert await distribute.outbox("reprint.deadline_breached") == []

    assert await tick(saturday + timedelta(minutes=1)) == 1
    assert await tick(saturday + timedelta(hours=5)) == 0
    [breach] = await distribute.outbox("reprint.deadline_breached")
    assert breach["obligation_id"] == city["id"] and breach["state"] == "requested"
    assert datetime.fromisoformat(breach["due_at"]) == saturday
    [after] = await obligations(distribute)
    assert after["breached_at"] == "2026-12-05T18:01:00+08:00"


async def test_two_workers_and_a_restart_breach_once(
    distribute: Distribute, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_at(monkeypatch, publishing)(SHANGHAI_FRIDAY_1800)
    clock_at(monkeypatch, reprints)(SHANGHAI_FRIDAY_1800 + timedelta(days=2))  # Sunday
    await add_rule(distribute, scope="descendants")
    await distribute.publish(ingested("c1"))

    async with distribute.app.state.db.sessions() as first:
        assert await reprints.run_clock(first, reprints.ClockPolicy()) == 2
        await first.commit()
    # a second worker that read the rows before the first marked them: its mark finds the
    # breach recorded and sends nothing
    [city, county] = await obligations(distribute)
    async with distribute.app.state.db.sessions() as second:
        assert not await reprints.mark_once(second, city["id"], "breached_at", datetime.now(UTC))
        await second.commit()

    # a new process (new Deps, new app) on the same database runs the job again
    again = create_app(make_settings(database_url), httpx.MockTransport(FakeIngest()))
    async with LifespanManager(again, startup_timeout=60, shutdown_timeout=60):
        [job] = [j for j in again.state.spec.jobs if j.name == "reprint-clock"]
        assert await run_pass(again.state.db, job) == 0
    breaches = await distribute.outbox("reprint.deadline_breached")
    assert sorted(b["site"] for b in breaches) == ["city", "county"]


async def test_report_counts_per_lower_site(
    distribute: Distribute, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = clock_at(monkeypatch, publishing)
    start = SHANGHAI_FRIDAY_1800
    await add_rule(distribute, scope="descendants", kind="notice")
    published(start)
    await distribute.publish(ingested("c1"))
    await distribute.publish(ingested("c2"))
    published(start + timedelta(hours=1))
    await distribute.publish(ingested("r1-city", site="city", is_reprint=True, reprint_of="c1"))
    published(start + timedelta(hours=30))
    await distribute.publish(ingested("r2-city", site="city", is_reprint=True, reprint_of="c2"))
    published(start + timedelta(hours=39))
    await distribute.publish(ingested("c3"))
    # a proposal the county declines is not owed
    await add_rule(distribute, kind="policy", mode="proposed", scope="descendants")
    await distribute.publish(ingested("p1", kind="policy", columns=["policies"]))
    proposal = (await obligations(distribute, "?site=county&state=proposed"))[0]["id"]
    declined = await distribute.client.post(
        f"/api/v1/reprints/{proposal}/decline", json={"reason": "不适用本县"}, headers=ADMIN
    )
    assert declined.status_code == 200

    clock_at(monkeypatch, reprints)(start + timedelta(hours=40))
    answer = await distribute.client.get("/api/v1/reprints/report?site=province", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["source_site"] == "province"
    assert body["rows"] == [
        {
            "site": "city",
            "unit": "成都市人民政府",
            "due": 4,
            "done_in_time": 1,
            "late": 1,
            "missing": 0,
            "pending": 2,  # c3, and p1 still proposed
            "declined": 0,
        },
        {
            "site": "county",
            "unit": "大邑县人民政府",
            "due": 3,
            "done_in_time": 0,
            "late": 0,
            "missing": 2,
            "pending": 1,
            "declined": 1,
        },
    ]
    scoped = await distribute.client.get("/api/v1/reprints/report", headers=COUNTY_EDITOR)
    assert [r["site"] for r in scoped.json()["rows"]] == ["county"]


async def test_short_deadline_warns_within_its_fraction(
    distribute: Distribute, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_at(monkeypatch, publishing)(SHANGHAI_FRIDAY_1800)
    now = clock_at(monkeypatch, reprints)
    await add_rule(distribute, deadline_hours=4)  # a quarter of 4 h: warned 1 h before
    await distribute.publish(ingested("c1"))
    [job] = [j for j in distribute.app.state.spec.jobs if j.name == "reprint-clock"]
    now(SHANGHAI_FRIDAY_1800 + timedelta(hours=2, minutes=30))
    assert await run_pass(distribute.app.state.db, job) == 0  # 1.5 h left
    now(SHANGHAI_FRIDAY_1800 + timedelta(hours=3, minutes=15))
    assert await run_pass(distribute.app.state.db, job) == 1
    [warning] = await distribute.outbox("reprint.deadline_warning")
    assert warning["hours_left"] == 0.75


async def test_reprint_published_before_its_text_arrived(distribute: Distribute) -> None:
    await add_rule(distribute)
    await distribute.publish(ingested("c1"))
    reprint = ingested("r1", site="city", is_reprint=True, reprint_of="c1")
    # the approval overtook `content.ingested`: the version came from ingest's API, which
    # does not carry `reprint_of`
    distribute.ingest.add(reprint.model_copy(update={"reprint_of": None}))
    await distribute.handle(approved(reprint))
    [waiting] = await obligations(distribute)
    assert waiting["state"] == "requested" and waiting["reprint_id"] is None
    await distribute.handle(reprint)  # the event arrives after all
    [live] = await obligations(distribute)
    assert live["state"] == "live" and live["reprint_id"] == "r1"
    assert live["live_at"] is not None


async def test_racing_workers_record_one_breach(
    distribute: Distribute, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_at(monkeypatch, publishing)(SHANGHAI_FRIDAY_1800)
    await add_rule(distribute)
    await distribute.publish(ingested("c1"))
    [city] = await obligations(distribute)
    late = SHANGHAI_FRIDAY_1800 + timedelta(days=2)
    database = distribute.app.state.db
    async with database.sessions() as first, database.sessions() as second:
        assert await reprints.mark_once(first, city["id"], "breached_at", late)
        # the second worker's conditional update waits for the first one's row
        racing = asyncio.create_task(reprints.mark_once(second, city["id"], "breached_at", late))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await first.commit()
        assert await racing is False
        await second.commit()
    [after] = await obligations(distribute)
    assert after["breached_at"] == "2026-12-06T18:00:00+08:00"
