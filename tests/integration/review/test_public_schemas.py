"""The routes answer precomputed JSON; their `*Public` response models must describe it exactly.

Each answer is validated against the model its route declares, and its keys must be the model's
fields (no field undocumented, none documented that is never sent).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from common.pagination import Page
from common.testing import staff
from services.review.schemas import (
    AnchorPublic,
    AuditEntryPublic,
    CheckResultPublic,
    EffectivePolicyPublic,
    LexiconEntriesPublic,
    LexiconPublic,
    LexiconUploadedPublic,
    LexiconVersionPublic,
    PolicyPagePublic,
    PolicyPublic,
    TaskDetailPublic,
    TaskListItemPublic,
    VerificationPublic,
)
from tests.integration.review.conftest import ADMIN, EDITOR, R1, R2, R3, ReviewHarness

CONF = {"stages": [{"name": "审核", "role": "reviewer"}], "confidentiality": "always"}


def exact(model: type[BaseModel], answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    payload: dict[str, Any] = answer.json()
    model.model_validate(payload)
    assert set(payload) == set(model.model_fields), model.__name__
    return payload


def exact_items(model: type[BaseModel], answer: httpx.Response) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = exact(Page[model], answer)["items"]  # type: ignore[valid-type]
    assert items, "an empty page proves nothing"
    for item in items:
        assert set(item) == set(model.model_fields), model.__name__
    return items


async def test_review_answers_match_their_models(review: ReviewHarness) -> None:
    old = await review.ingest(body_text="正文见 http://www.gov.cn/a.pdf 。")
    tid = (await review.task_of(old.content_id))["id"]
    for reviewer in (R1, R2):
        exact(TaskDetailPublic, await review.decide(tid, reviewer), 201)
    await review.run_link_checks()
    detail = exact(TaskDetailPublic, await review.decide(tid, R3), 201)
    assert detail["status"] == "approved" and detail["link_check"] == "done"

    new = await review.ingest(content_id=old.content_id, version=2, body_text="改过的正文。")
    tid = (await review.task_of(new.content_id))["id"]
    client = review.client
    detail = exact(TaskDetailPublic, await client.post(f"/api/v1/reviews/{tid}/claim", headers=R1))
    assert detail["diff"] is not None and set(detail["diff"]) == {
        "base_version",
        "base_content_hash",
        "unified",
    }
    exact(TaskDetailPublic, await client.post(f"/api/v1/reviews/{tid}/release", headers=R1))
    params = {"content_id": old.content_id}
    exact_items(TaskListItemPublic, await client.get("/api/v1/reviews", params=params, headers=R1))


async def test_attestation_answer_matches_its_model(review: ReviewHarness) -> None:
    put = await review.client.put("/api/v1/review-policies/*/*", json=CONF, headers=ADMIN)
    exact(PolicyPublic, put)
    data = await review.ingest()
    tid = (await review.task_of(data.content_id))["id"]
    officer = staff("officer", ("confidentiality",))
    body = {"result": "cleared", "comment": "无涉密内容"}
    answer = await review.client.post(
        f"/api/v1/reviews/{tid}/attestation", json=body, headers=officer
    )
    detail = exact(TaskDetailPublic, answer, 201)
    assert detail["attestation"] is not None and set(detail["attestation"]) == {
        "by",
        "at",
        "comment",
    }


async def test_admin_answers_match_their_models(review: ReviewHarness) -> None:
    client = review.client
    exact_items(LexiconPublic, await client.get("/api/v1/lexicons", headers=ADMIN))
    exact(LexiconEntriesPublic, await client.get("/api/v1/lexicons/gambling", headers=ADMIN))
    version = await client.get("/api/v1/lexicons/gambling/versions/1", headers=ADMIN)
    exact(LexiconVersionPublic, version)
    exact_items(LexiconEntriesPublic, await client.get("/api/v1/wording", headers=EDITOR))
    body = {"name": "local", "kind": "sensitive", "category": "local", "text": "某词"}
    exact(
        LexiconUploadedPublic, await client.post("/api/v1/lexicons", json=body, headers=ADMIN), 201
    )
    upload = await client.post(
        "/api/v1/lexicons/local/versions",
        content="某词\n另一词".encode(),
        headers={**ADMIN, "content-type": "text/plain; charset=utf-8"},
    )
    exact(LexiconUploadedPublic, upload, 201)
    patched = await client.patch("/api/v1/lexicons/local", json={"active": False}, headers=ADMIN)
    exact(LexiconPublic, patched)

    policy = {"stages": [{"name": "审核", "role": "reviewer"}]}
    exact(
        PolicyPublic,
        await client.put("/api/v1/review-policies/province/notice", json=policy, headers=ADMIN),
    )
    policies = exact(PolicyPagePublic, await client.get("/api/v1/review-policies", headers=ADMIN))
    assert set(policies["items"][0]) == set(PolicyPublic.model_fields)
    assert set(policies["default"]) == set(EffectivePolicyPublic.model_fields)
    resolved = await client.get("/api/v1/review-policies/province/notice", headers=ADMIN)
    exact(EffectivePolicyPublic, resolved)

    exact_items(AuditEntryPublic, await client.get("/api/v1/audit", headers=ADMIN))
    exact(AnchorPublic, await client.get("/api/v1/audit/head", headers=ADMIN))
    exact(VerificationPublic, await client.get("/api/v1/audit/verify", headers=ADMIN))

    draft = {"title": "通知", "body_text": "请访问六合彩官网。", "publisher": "办公厅"}
    checked = exact(CheckResultPublic, await client.post("/api/v1/checks", json=draft, headers=R1))
    assert checked["blocking"] >= 1
