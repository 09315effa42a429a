"""Distribute's audit chain: staff acts and settled releases are chained with the act they
record; a refused act leaves no entry; a row altered in the database fails `kitchen audit verify`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from common.events import ContentRetractionRequested
from kitchen.cli import app as cli
from services.distribute.models import AuditEntry
from tests.integration.distribute.conftest import (
    ADMIN,
    EDITOR,
    SECRET,
    Distribute,
    Receiver,
    ingested,
)

SITE = {"slug": "dept-edu", "name": "四川省教育厅", "domain": "edu.sc.gov.cn"}


async def entries(distribute: Distribute) -> list[AuditEntry]:
    async with distribute.app.state.db.sessions() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars())


def acts(rows: list[AuditEntry]) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.subject) for e in rows]


def data(entry: AuditEntry) -> dict[str, Any]:
    return orjson.loads(entry.data)


async def run_cli(args: list[str]) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, args)


async def test_site_tree_changes_are_chained_and_refusals_are_not(
    distribute: Distribute,
) -> None:
    site = {**SITE, "site_id_code": "5100000042", "parent": "province"}
    assert (
        await distribute.client.post("/api/v1/sites", json=site, headers=EDITOR)
    ).status_code == 403
    assert (
        await distribute.client.post("/api/v1/sites", json=site, headers=ADMIN)
    ).status_code == 201
    twice = await distribute.client.post("/api/v1/sites", json=site, headers=ADMIN)
    assert twice.status_code == 409
    column = {"slug": "news", "name": "教育要闻", "type": "news"}
    path = "/api/v1/sites/dept-edu/columns"
    assert (await distribute.client.post(path, json=column, headers=ADMIN)).status_code == 201
    assert (await distribute.client.post(path, json=column, headers=ADMIN)).status_code == 409
    patch = {"name": "教育动态"}
    changed = await distribute.client.patch(f"{path}/news", json=patch, headers=ADMIN)
    assert changed.status_code == 200
    renamed = await distribute.client.patch(
        "/api/v1/sites/dept-edu", json={"name": "四川省教育厅网站"}, headers=ADMIN
    )
    assert renamed.status_code == 200

    rows = await entries(distribute)
    assert acts(rows) == [
        ("admin", "site.created", "site:dept-edu"),
        ("admin", "column.created", "column:dept-edu/news"),
        ("admin", "column.changed", "column:dept-edu/news"),
        ("admin", "site.changed", "site:dept-edu"),
    ]
    assert data(rows[0])["parent"] == "province" and data(rows[2]) == patch
    assert [e.seq for e in rows] == [1, 2, 3, 4]
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


async def test_webhook_endpoints_are_chained_without_their_secret(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET, "description": "新媒体"}
    key = {"Idempotency-Key": "ep-1"}
    created = await distribute.client.post(
        "/api/v1/webhook-endpoints", json=body, headers={**ADMIN, **key}
    )
    assert created.status_code == 201
    replay = await distribute.client.post(
        "/api/v1/webhook-endpoints", json=body, headers={**ADMIN, **key}
    )
    assert replay.headers["idempotent-replayed"] == "true"  # the same act, recorded once
    endpoint = created.json()["id"]
    refused = await distribute.client.delete(
        f"/api/v1/webhook-endpoints/{endpoint}", headers=EDITOR
    )
    assert refused.status_code == 403
    removed = await distribute.client.delete(f"/api/v1/webhook-endpoints/{endpoint}", headers=ADMIN)
    assert removed.status_code == 204

    rows = await entries(distribute)
    assert acts(rows) == [
        ("admin", "webhook_endpoint.created", endpoint),
        ("admin", "webhook_endpoint.removed", endpoint),
    ]
    assert data(rows[0])["url"] == receiver.url
    assert all(SECRET not in e.data and "secret" not in data(e) for e in rows)


async def test_staff_resends_takedowns_and_release_outcomes_are_chained(
    distribute: Distribute, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET}
    assert (
        await distribute.client.post("/api/v1/webhook-endpoints", json=body, headers=ADMIN)
    ).status_code == 201
    receiver.statuses = [400]  # refused at once: the release fails
    await distribute.publish(ingested("c1"))
    await distribute.dispatch()
    [dead] = (await distribute.client.get("/api/v1/deliveries?state=failed", headers=ADMIN)).json()[
        "items"
    ]
    path = f"/api/v1/deliveries/{dead['id']}/retry"
    assert (await distribute.client.post(path, headers=EDITOR)).status_code == 403
    assert (await distribute.client.post(path, headers=ADMIN)).status_code == 202
    assert (await distribute.client.post(path, headers=ADMIN)).status_code == 409  # pending
    await distribute.dispatch()  # delivered now: the release is published
    replayed = await distribute.client.post(
        f"/api/v1/deliveries/{dead['id']}/replay", headers=ADMIN
    )
    assert replayed.status_code == 202
    await distribute.dispatch()
    await distribute.handle(
        ContentRetractionRequested(content_id="c1", reason="信息有误", requested_by="editor7")
    )

    rows = (await entries(distribute))[1:]  # after the endpoint's registration
    assert acts(rows) == [
        ("system:distribute", "release.failed", "c1"),
        ("admin", "delivery.retry", dead["id"]),
        ("system:distribute", "release.published", "c1"),
        ("admin", "delivery.replay", dead["id"]),
        ("editor7", "retraction.applied", "c1"),
    ]
    failed, retry, published, replay, retraction = (data(e) for e in rows)
    assert failed["reason"].startswith(f"webhook:{dead['endpoint_id']}: HTTP 400")
    assert retry["from_state"] == "failed" and replay["from_state"] == "delivered"
    assert published["targets"] == sorted(published["targets"]) and len(published["targets"]) == 2
    assert retraction == {"reason": "信息有误", "deliveries": 2}


async def test_kitchen_audit_verify_names_the_service_and_the_altered_entry(
    distribute: Distribute, database_url: str
) -> None:
    for slug in ("a1", "a2", "a3"):
        site = {
            "slug": slug,
            "name": slug,
            "domain": f"{slug}.gov.cn",
            "site_id_code": "5100000042",
        }
        assert (
            await distribute.client.post("/api/v1/sites", json=site, headers=ADMIN)
        ).status_code == 201
    args = ["audit", "verify", "--service", "distribute", "--url", f"distribute={database_url}"]
    intact = await run_cli(args)
    assert intact.exit_code == 0, intact.output
    report = orjson.loads(intact.stdout)
    assert (report["service"], report["ok"], report["checked"]) == ("distribute", True, 3)

    async with distribute.app.state.db.sessions() as session:
        forged = '{"name":"forged"}'
        await session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(data=forged))
        await session.commit()
    broken = await run_cli(args)
    assert broken.exit_code == 1
    report = orjson.loads(broken.stdout)
    assert (report["service"], report["ok"], report["first_bad_seq"]) == ("distribute", False, 2)
    assert "distribute: chain broken at entry 2" in broken.stderr
