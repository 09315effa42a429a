"""Ingest's audit chain: sources, webhook secrets (never their value), quarantine releases,
crawls and bulk imports started by staff are chained with the act; refusals leave no entry; a row
altered or removed in the database fails `kitchen audit verify`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import delete, select
from typer.testing import CliRunner, Result

from kitchen.cli import app as cli
from services.ingest.bulk import ImportOptions, import_path
from services.ingest.models import AuditEntry
from tests.integration.ingest.helpers import ADMIN, EDITOR, fixture, policy

SOURCE = {
    "name": "市政府网站",
    "kind": "feed",
    "start_urls": ["http://127.0.0.1:9/feed.xml"],
    "site": "province",
    "columns": ["news"],
    "publisher": "市政府办公室",
}


async def entries(client: httpx.AsyncClient) -> list[AuditEntry]:
    async with client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars())


def acts(rows: list[AuditEntry]) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.subject) for e in rows]


def data(entry: AuditEntry) -> dict[str, Any]:
    return orjson.loads(entry.data)


async def run_cli(args: list[str]) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, args)


async def test_sources_and_secrets_are_chained_without_the_secret(
    ingest_client: httpx.AsyncClient,
) -> None:
    assert (
        await ingest_client.post("/api/v1/sources", json=SOURCE, headers=EDITOR)
    ).status_code == 403
    unknown = {**SOURCE, "columns": ["nope"]}
    assert (
        await ingest_client.post("/api/v1/sources", json=unknown, headers=ADMIN)
    ).status_code == 422
    source = (await ingest_client.post("/api/v1/sources", json=SOURCE, headers=ADMIN)).json()
    crawl = await ingest_client.post(f"/api/v1/sources/{source['id']}/crawls", headers=EDITOR)
    assert crawl.status_code == 202
    secrets = "/api/v1/webhooks/oa-system/secrets"
    assert (await ingest_client.post(secrets, headers=EDITOR)).status_code == 403
    created = (await ingest_client.post(secrets, headers=ADMIN)).json()
    rotated = (await ingest_client.post(secrets, headers=ADMIN)).json()
    revoked = await ingest_client.delete(f"{secrets}/{created['id']}", headers=ADMIN)
    assert revoked.status_code == 204
    assert (await ingest_client.delete(f"{secrets}/nope", headers=ADMIN)).status_code == 404

    rows = await entries(ingest_client)
    subject = f"source:{source['id']}"
    assert acts(rows) == [
        ("admin", "source.created", subject),
        ("editor", "crawl.started", subject),
        ("admin", "webhook_secret.created", "webhook_source:oa-system"),
        ("admin", "webhook_secret.created", "webhook_source:oa-system"),
        ("admin", "webhook_secret.revoked", "webhook_source:oa-system"),
    ]
    assert data(rows[0])["start_urls"] == SOURCE["start_urls"]
    assert data(rows[1]) == {"run": crawl.json()["id"]}
    assert [data(e)["secret_id"] for e in rows[2:]] == [created["id"], rotated["id"], created["id"]]
    assert all(s["secret"] not in e.data for e in rows for s in (created, rotated))


async def test_quarantine_release_is_chained_with_the_editor(
    ingest_client: httpx.AsyncClient,
) -> None:
    body = policy(
        title="365体育投注官网关于做好2018年政府信息公开工作的通知",
        body_html=fixture("defaced_page.html"),
        kind="notice",
        columns=["notices"],
    )
    accepted = (await ingest_client.post("/api/v1/contents", json=body, headers=EDITOR)).json()
    assert accepted["status"] == "quarantined"
    path = f"/api/v1/contents/{accepted['id']}/release"
    assert (await ingest_client.post(path, json={}, headers=ADMIN)).status_code == 403
    released = await ingest_client.post(path, json={"note": "已核实"}, headers=EDITOR)
    assert released.status_code == 200
    assert (await ingest_client.post(path, json={}, headers=EDITOR)).status_code == 409

    [entry] = await entries(ingest_client)  # the submission itself is not a privileged act
    assert (entry.actor, entry.action, entry.subject) == (
        "editor", "quarantine.released", accepted["id"],
    )  # fmt: skip
    assert data(entry)["note"] == "已核实" and "博彩" in data(entry)["quarantined_for"]


async def test_bulk_import_start_and_end_are_chained(
    ingest_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "关于开展政府网站普查工作的通知\n\n各县区人民政府：\n请做好普查。"
    )
    (folder / "b.doc").write_bytes(b"\xd0\xcf")
    app = ingest_client.app  # type: ignore[attr-defined]
    options = ImportOptions(
        site="province", columns=["notices"], publisher=None, operator="cli:ops"
    )
    summary = await import_path(app.state.db, folder, options, app.state.settings)
    assert (len(summary.added), len(summary.rejected)) == (1, 1)

    started, finished = await entries(ingest_client)
    assert acts([started, finished]) == [
        ("cli:ops", "import.started", "import:batch"),
        ("cli:ops", "import.finished", "import:batch"),
    ]
    assert data(started)["columns"] == ["notices"]
    assert data(finished) == {"path": "batch", "added": 1, "merged": 0, "rejected": 1}


async def test_kitchen_audit_verify_names_ingest_and_the_missing_entry(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    for _ in range(3):
        response = await ingest_client.post("/api/v1/webhooks/oa/secrets", headers=ADMIN)
        assert response.status_code == 201
    args = ["audit", "verify", "--service", "ingest", "--url", f"ingest={database_url}"]
    intact = await run_cli(args)
    assert intact.exit_code == 0, intact.output
    assert orjson.loads(intact.stdout)["checked"] == 3

    async with ingest_client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        await session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
        await session.commit()
    broken = await run_cli(args)
    assert broken.exit_code == 1
    report = orjson.loads(broken.stdout)
    assert (report["service"], report["first_bad_seq"]) == ("ingest", 2)
    assert report["reason"] == "entry 2 is missing"
    assert "ingest: chain broken at entry 2" in broken.stderr
