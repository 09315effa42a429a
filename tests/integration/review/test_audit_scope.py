"""A site-scoped caller sees only the audit entries of its sites' items; the whole chain is not."""

from __future__ import annotations

from common.testing import staff
from tests.integration.review.conftest import ADMIN, ReviewHarness

COUNTY_REVIEWER = staff("county-reviewer", ("reviewer",), sites=["county"])
COUNTY_ADMIN = staff("county-admin", ("admin",), sites=["county"])


async def subjects(review: ReviewHarness, headers: dict[str, str], **params: str) -> set[str]:
    response = await review.client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {e["subject"] for e in response.json()["items"]}


async def test_scoped_callers_see_only_their_sites_entries(review: ReviewHarness) -> None:
    county = await review.ingest(site="county")
    province = await review.ingest(site="province")
    lexicon = await review.client.post(
        "/api/v1/lexicons",
        json={"name": "scope-test", "kind": "sensitive", "text": "某词", "category": "测试"},
        headers=ADMIN,
    )
    assert lexicon.status_code == 201, lexicon.text

    everything = await subjects(review, ADMIN)
    assert {county.content_id, province.content_id, "lexicon:scope-test"} <= everything
    for headers in (COUNTY_REVIEWER, COUNTY_ADMIN):
        assert await subjects(review, headers) == {county.content_id}
        assert await subjects(review, headers, subject=province.content_id) == set()
        assert await subjects(review, headers, subject="lexicon:scope-test") == set()
        assert await subjects(review, headers, subject=county.content_id) == {county.content_id}


async def test_head_and_verify_are_for_global_admins(review: ReviewHarness) -> None:
    await review.ingest(site="county")
    for path in ("/api/v1/audit/head", "/api/v1/audit/verify"):
        assert (await review.client.get(path, headers=ADMIN)).status_code == 200
        refused = await review.client.get(path, headers=COUNTY_ADMIN)
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"][0]["field"] == "sites"


async def test_callers_without_the_role_are_refused_before_their_body_is_read(
    review: ReviewHarness,
) -> None:
    editor = staff("editor", ("editor",))
    handler = staff("handler", ("handler",))
    refusals = [
        ("POST", "/api/v1/lexicons", editor),
        ("PATCH", "/api/v1/lexicons/x", editor),
        ("PUT", "/api/v1/review-policies/province/notice", editor),
        ("POST", "/api/v1/reviews/x/attestation", editor),
        ("POST", "/api/v1/checks", handler),
    ]
    for method, path, headers in refusals:
        response = await review.client.request(method, path, json={}, headers=headers)
        assert response.status_code == 403, (path, response.text)


async def test_scoped_admins_change_only_their_own_sites_settings(review: ReviewHarness) -> None:
    policy = {"stages": [{"name": "终审", "role": "reviewer"}]}
    for site in ("*", "province"):
        for body in (policy, {}):  # refused before the body is looked at
            response = await review.client.put(
                f"/api/v1/review-policies/{site}/notice", json=body, headers=COUNTY_ADMIN
            )
            assert response.status_code == 403, (site, response.text)
            assert response.json()["errors"][0]["field"] == "site"
    lexicon = {"name": "county-words", "kind": "sensitive", "text": "某词", "category": "测试"}
    refused = await review.client.post("/api/v1/lexicons", json=lexicon, headers=COUNTY_ADMIN)
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "sites"
    county = await review.client.put(
        "/api/v1/review-policies/county/notice", json=policy, headers=COUNTY_ADMIN
    )
    assert county.status_code == 200, county.text


async def test_scoped_callers_read_only_their_sites_policies(review: ReviewHarness) -> None:
    for site, status in (("province", 403), ("county", 200), ("*", 200)):
        response = await review.client.get(
            f"/api/v1/review-policies/{site}/notice", headers=COUNTY_REVIEWER
        )
        assert response.status_code == status, (site, response.text)
