"""Signed webhooks, multipart attachments, Idempotency-Key and undecodable bytes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from common.db import Database
from common.errors import ProblemError
from common.events import utcnow
from common.idempotency import Claim, IdempotencyStore
from common.secretbox import SecretBox
from common.testing import staff
from services.ingest import pipeline, webhooks
from services.ingest.intake import ReadSubmission
from services.ingest.models_intake import WebhookSecret, idempotency_records
from services.ingest.schemas import ContentSubmission
from tests.integration.ingest.helpers import ADMIN, EDITOR, outbox_events, traditional

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def signed(secret: str, body: bytes, msg_id: str, at: datetime | None = None) -> dict[str, str]:
    """Headers exactly as an integrator using the `standardwebhooks` package sends them."""
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


async def new_secret(client: httpx.AsyncClient, source: str = "oa-system") -> str:
    response = await client.post(f"/api/v1/webhooks/{source}/secrets", headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["secret"]


async def test_signed_webhook_is_ingested_once_and_forgeries_change_nothing(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    old, new = await new_secret(ingest_client), await new_secret(ingest_client)
    body = orjson.dumps(traditional(external_id="OA-2019-0064"))
    url = "/api/v1/webhooks/oa-system"
    refusals = [
        ({"content-type": "application/json"}, "missing"),
        (signed(new, body + b" ", "msg_1"), "body changed after signing"),
        (signed(new, body, "msg_1", datetime.now(UTC) - timedelta(minutes=10)), "too old"),
        (signed(new, body, "msg_1", datetime.now(UTC) + timedelta(minutes=10)), "too new"),
        (signed("whsec_" + "QUJD" * 11, body, "msg_1"), "unknown secret"),
    ]
    for headers, why in refusals:
        response = await ingest_client.post(url, content=body, headers=headers)
        assert response.status_code == 401, why
        assert response.headers["content-type"] == "application/problem+json"
    assert await outbox_events(database_url) == []
    first = await ingest_client.post(url, content=body, headers=signed(old, body, "msg_1"))
    assert first.status_code == 202, first.text
    # A redelivery with the same webhook-id (even re-signed later) is a no-op with the same answer.
    again = await ingest_client.post(url, content=body, headers=signed(new, body, "msg_1"))
    assert again.json() == first.json() and again.headers["webhook-replayed"] == "true"
    assert len(await outbox_events(database_url)) == 1
    item = (
        await ingest_client.get(f"/api/v1/contents/{first.json()['id']}", headers=EDITOR)
    ).json()
    [source] = item["sources"]
    assert source["channel"] == "webhook" and source["name"] == "oa-system"
    assert source["external_id"] == "OA-2019-0064"
    # Rotation: revoke the old secret; deliveries signed with it alone are refused.
    listed = (await ingest_client.get("/api/v1/webhooks/oa-system/secrets", headers=ADMIN)).json()
    assert all("secret" not in s for s in listed["items"]) and len(listed["items"]) == 2
    old_id = listed["items"][0]["id"]
    revoked = await ingest_client.delete(
        f"/api/v1/webhooks/oa-system/secrets/{old_id}", headers=ADMIN
    )
    assert revoked.status_code == 204
    other = orjson.dumps(
        traditional(title="另一份通知", body_text="各单位：请按时报送网站年度报表。")
    )
    refused = await ingest_client.post(url, content=other, headers=signed(old, other, "msg_2"))
    assert refused.status_code == 401
    accepted = await ingest_client.post(url, content=other, headers=signed(new, other, "msg_2"))
    assert accepted.status_code == 202


async def test_webhook_secrets_are_admin_only_and_bad_payloads_refused(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await ingest_client.post("/api/v1/webhooks/x/secrets")).status_code == 401
    assert (
        await ingest_client.post("/api/v1/webhooks/x/secrets", headers=EDITOR)
    ).status_code == 403
    secret = await new_secret(ingest_client, "x")
    bad = orjson.dumps({**traditional(), "surprise": True})
    response = await ingest_client.post(
        "/api/v1/webhooks/x", content=bad, headers=signed(secret, bad, "m1")
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.surprise"
    assert await outbox_events(database_url) == []


async def test_multipart_attachments_are_content_addressed_and_served_with_their_type(
    ingest_client: httpx.AsyncClient,
) -> None:
    files = [
        ("attachments", ("附件1：网站年度报表.pdf", PDF, "application/octet-stream")),
        ("attachments", ("图片.png", PNG, "text/plain")),  # the client's type is not trusted
    ]
    data = {"submission": orjson.dumps(traditional()).decode()}
    response = await ingest_client.post("/api/v1/contents", data=data, files=files, headers=EDITOR)
    assert response.status_code == 202, response.text
    item = (
        await ingest_client.get(f"/api/v1/contents/{response.json()['id']}", headers=EDITOR)
    ).json()
    kinds = {a["filename"]: a["media_type"] for a in item["attachments"]}
    assert kinds == {"附件1：网站年度报表.pdf": "application/pdf", "图片.png": "image/png"}
    pdf = next(a for a in item["attachments"] if a["media_type"] == "application/pdf")
    served = await ingest_client.get(f"/api/v1/attachments/{pdf['sha256']}", headers=EDITOR)
    assert served.content == PDF and served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    # Unpublished: not for the public.
    assert (await ingest_client.get(f"/api/v1/attachments/{pdf['sha256']}")).status_code == 401
    # A retried multipart upload (new boundary) with the same Idempotency-Key is a replay.
    keyed = {**EDITOR, "Idempotency-Key": "upload-1"}
    one = await ingest_client.post("/api/v1/contents", data=data, files=files, headers=keyed)
    two = await ingest_client.post("/api/v1/contents", data=data, files=files, headers=keyed)
    assert two.headers.get("idempotent-replayed") == "true" and two.json() == one.json()


async def test_oversize_and_refused_attachments_and_undecodable_bytes(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    data = {"submission": orjson.dumps(traditional()).decode()}
    big = [("attachments", ("大.pdf", b"%PDF-" + b"0" * (6 * 1024 * 1024), "application/pdf"))]
    response = await ingest_client.post("/api/v1/contents", data=data, files=big, headers=EDITOR)
    assert response.status_code == 413 and response.json()["errors"][0]["field"] == "attachments[0]"
    exe = [("attachments", ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf"))]
    response = await ingest_client.post("/api/v1/contents", data=data, files=exe, headers=EDITOR)
    assert response.status_code == 422 and "executable" in response.json()["detail"]
    gbk = orjson.dumps(traditional(body_text="PLACEHOLDER")).replace(
        b"PLACEHOLDER", "政府网站".encode("gbk")
    )
    response = await ingest_client.post(
        "/api/v1/contents",
        content=gbk,
        headers={**EDITOR, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body"
    assert "not UTF-8 at byte" in response.json()["detail"]
    assert await outbox_events(database_url) == []


async def test_idempotency_key_replays_the_first_answer(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**EDITOR, "Idempotency-Key": "submit-2019-64"}
    first = await ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    again = await ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(await outbox_events(database_url)) == 1
    other = await ingest_client.post(
        "/api/v1/contents", json=traditional(title="别的标题"), headers=headers
    )
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    # Keys are per caller: another officer's same key is a different request.
    theirs = await ingest_client.post(
        "/api/v1/contents",
        json=traditional(),
        headers={**staff("editor2", ("editor",)), "Idempotency-Key": "submit-2019-64"},
    )
    assert theirs.status_code == 200 and theirs.json()["outcome"] == "merged"


async def _secret_rows(database_url: str) -> list[tuple[str, str]]:
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            rows = await conn.execute(select(WebhookSecret.id, WebhookSecret.secret))
            return [(r[0], r[1]) for r in rows.all()]
    finally:
        await database.dispose()


async def test_webhook_secrets_are_sealed_at_rest_and_rotation_still_verifies(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    old, new = await new_secret(ingest_client, "oa"), await new_secret(ingest_client, "oa")
    rows = await _secret_rows(database_url)
    assert len(rows) == 2
    for _, stored in rows:
        assert stored.startswith("fernet:")
        assert old not in stored and new not in stored
        assert old[len("whsec_") :] not in stored and new[len("whsec_") :] not in stored
    # Opened with the data key they are the secrets handed out once.
    box = SecretBox(ingest_client.app.state.settings.data_key)  # type: ignore[attr-defined]
    assert sorted(box.open(s) for _, s in rows) == sorted([old, new])
    # Both active secrets verify (rotation), each on its own.
    url = "/api/v1/webhooks/oa"
    for i, secret in enumerate((old, new)):
        body = orjson.dumps(
            traditional(title=f"轮换测试通知{i}", body_text=f"第{i}份：请按时报送。")
        )
        response = await ingest_client.post(
            url, content=body, headers=signed(secret, body, f"r{i}")
        )
        assert response.status_code == 202, response.text
    # A legacy plain-text row (written before sealing) still verifies, and is sealed at next start.
    legacy = webhooks.new_secret()
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            session.add(
                WebhookSecret(
                    id="legacy", source="oa", secret=legacy, created_by="t", created_at=utcnow()
                )
            )
            await session.commit()
        body = orjson.dumps(traditional(title="旧密钥通知", body_text="旧密钥签名的报送。"))
        response = await ingest_client.post(url, content=body, headers=signed(legacy, body, "r9"))
        assert response.status_code == 202, response.text
        async with database.sessions() as session:
            assert await webhooks.seal_legacy_secrets(session, box) == 1
            await session.commit()
    finally:
        await database.dispose()
    stored = dict(await _secret_rows(database_url))["legacy"]
    assert stored.startswith("fernet:") and legacy not in stored and box.open(stored) == legacy
    # A secret sealed with another data key is skipped (refused), the others keep working.
    foreign = SecretBox("another-key")
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            row = await session.get(WebhookSecret, "legacy")
            assert row is not None
            row.secret = foreign.seal(legacy)
            session.add(row)
            await session.commit()
    finally:
        await database.dispose()
    body = orjson.dumps(traditional(title="异钥通知", body_text="用别的数据密钥封存的密钥。"))
    refused = await ingest_client.post(url, content=body, headers=signed(legacy, body, "r10"))
    assert refused.status_code == 401
    works = await ingest_client.post(url, content=body, headers=signed(new, body, "r10"))
    assert works.status_code == 202


def _slow_pipeline(
    monkeypatch: pytest.MonkeyPatch, gate: asyncio.Event, fail: bool = False
) -> list[str]:
    """The pipeline waits at `gate` before writing (so requests overlap), optionally failing."""
    calls: list[str] = []
    real = pipeline.ingest

    async def slow(session, incoming, settings):  # type: ignore[no-untyped-def]
        calls.append(incoming.title)
        await gate.wait()
        if fail:
            raise RuntimeError("pipeline broke")
        return await real(session, incoming, settings)

    monkeypatch.setattr(pipeline, "ingest", slow)
    return calls


async def _release_soon(gate: asyncio.Event, seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)
    gate.set()


async def _item_count(client: httpx.AsyncClient) -> int:
    listed = await client.get("/api/v1/contents", headers=EDITOR)
    return len(listed.json()["items"])


async def test_concurrent_requests_with_one_idempotency_key_write_once_and_replay(
    ingest_client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    calls = _slow_pipeline(monkeypatch, gate)
    headers = {**EDITOR, "Idempotency-Key": "race-1"}
    post = ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    again = ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    first, second, _ = await asyncio.gather(post, again, _release_soon(gate))
    assert first.status_code == second.status_code == 202, (first.text, second.text)
    assert first.json() == second.json()
    replayed = [r.headers.get("idempotent-replayed") for r in (first, second)]
    assert replayed.count("true") == 1
    assert len(calls) == 1  # the second never entered the pipeline
    assert len(await outbox_events(database_url)) == 1 and await _item_count(ingest_client) == 1


async def test_unthrottled_concurrent_requests_with_one_key_never_500(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**EDITOR, "Idempotency-Key": "race-2"}
    responses = await asyncio.gather(
        *(ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
          for _ in range(4))
    )  # fmt: skip
    assert {r.status_code for r in responses} <= {202, 409}, [r.text for r in responses]
    done = [r for r in responses if r.status_code == 202]
    assert done and all(r.json() == done[0].json() for r in done)
    assert len(await outbox_events(database_url)) == 1 and await _item_count(ingest_client) == 1


async def test_a_key_in_progress_is_a_409_and_a_failed_first_attempt_frees_it(
    ingest_client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_client.app.state.deps.idempotency.wait_seconds = 0.1  # type: ignore[attr-defined]
    gate = asyncio.Event()
    _slow_pipeline(monkeypatch, gate)
    headers = {**EDITOR, "Idempotency-Key": "race-3"}
    post = ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    again = ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    first, second, _ = await asyncio.gather(post, again, _release_soon(gate, 0.6))
    busy, done = sorted((first, second), key=lambda r: r.status_code, reverse=True)
    assert done.status_code == 202 and busy.status_code == 409, (first.text, second.text)
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.json()["detail"] == "request with this key in progress"
    assert busy.json()["errors"][0]["field"] == "Idempotency-Key"
    assert busy.headers["retry-after"] == "1"
    retry = await ingest_client.post("/api/v1/contents", json=traditional(), headers=headers)
    assert retry.json() == done.json() and retry.headers["idempotent-replayed"] == "true"
    # A first attempt that fails gives the key back: the retry runs, and only once.
    broken = asyncio.Event()
    broken.set()
    monkeypatch.undo()
    _slow_pipeline(monkeypatch, broken, fail=True)
    other = {**EDITOR, "Idempotency-Key": "race-4"}
    body = traditional(title="失败后重试的通知", body_text="第一次提交失败，重试应成功。")
    with pytest.raises(RuntimeError):
        await ingest_client.post("/api/v1/contents", json=body, headers=other)
    monkeypatch.undo()
    ok = await ingest_client.post("/api/v1/contents", json=body, headers=other)
    assert ok.status_code == 202 and "idempotent-replayed" not in ok.headers
    assert len(await outbox_events(database_url)) == 2


async def test_a_claim_left_by_a_crashed_process_is_taken_over_when_stale(
    ingest_client: httpx.AsyncClient, database_url: str
) -> None:
    ingest_client.app.state.deps.idempotency.wait_seconds = 0.1  # type: ignore[attr-defined]
    headers = {**EDITOR, "Idempotency-Key": "crashed"}
    raw = orjson.dumps(traditional())
    digest = ReadSubmission(
        ContentSubmission.model_validate(traditional()), raw, "application/json"
    ).digest("/api/v1/contents")
    database = Database(database_url)
    try:
        keys = IdempotencyStore(idempotency_records, wait_seconds=0, stale_seconds=60)
        owned = await keys.claim(database, "editor", "crashed", digest)
        assert isinstance(owned, Claim)  # ... and then the process died
        busy = await ingest_client.post("/api/v1/contents", content=raw, headers=headers)
        assert busy.status_code == 409
        ingest_client.app.state.deps.idempotency.stale_seconds = 0  # type: ignore[attr-defined]
        taken = await ingest_client.post("/api/v1/contents", content=raw, headers=headers)
        assert taken.status_code == 202, taken.text
        # The crashed owner can no longer complete its claim (no second answer, no double write).
        async with database.sessions() as session:
            with pytest.raises(ProblemError):
                await keys.complete(session, owned, 202, b"{}")
    finally:
        await database.dispose()
    assert len(await outbox_events(database_url)) == 1


async def test_identical_concurrent_submissions_without_a_key_do_not_collide_on_stored_bytes(
    ingest_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same raw bytes (and attachment) stored by two requests at once: no primary-key 500."""
    gate = asyncio.Event()
    real = pipeline.store_blob

    async def in_step(session, data, media_type):  # type: ignore[no-untyped-def]
        await gate.wait()  # both requests reach the blob insert together
        return await real(session, data, media_type)

    monkeypatch.setattr(pipeline, "store_blob", in_step)
    body = traditional(title="同时提交两次的通知", body_text="双击提交按钮时，同一份文件到达两次。")
    posts = [ingest_client.post("/api/v1/contents", json=body, headers=EDITOR) for _ in range(2)]
    first, second, _ = await asyncio.gather(*posts, _release_soon(gate, 0.2))
    assert {first.status_code, second.status_code} <= {200, 202}, (first.text, second.text)
