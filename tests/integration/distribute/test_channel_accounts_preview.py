"""Review's channel preview: before sign-off, a version's WeChat and Weibo renditions with their
hashes and findings, the accounts it would go to, and the named accounts it cannot go to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from common.testing import staff
from services.distribute.channels.contract import variant_hash
from services.distribute.models import ChannelVariant
from tests.integration.distribute.conftest import ADMIN, EDITOR, Distribute, ingested
from tests.integration.distribute.test_channel_accounts import (  # noqa: F401  (fixture)
    ACCOUNTS,
    CHENGDU_WECHAT,
    CHENGDU_WEIBO,
    SICHUAN_WECHAT,
    SICHUAN_WEIBO,
    channels_app,
    register,
)

LONG_TITLE = "关于印发四川省进一步优化营商环境激发市场主体活力若干措施的通知及其配套实施细则的说明"


async def accounts_of_every_kind(channels: Distribute) -> dict[str, str]:
    """By role: two that get it by column, and four named ones (off its safe domain, serving
    another site, closed, never registered)."""
    ids = {
        "wechat": (await register(channels, SICHUAN_WECHAT))["id"],
        "weibo": (await register(channels, SICHUAN_WEIBO))["id"],
    }
    off_domain = {**CHENGDU_WEIBO, "safe_domain": "example.com", "default_columns": []}
    ids["off_domain"] = (await register(channels, off_domain))["id"]
    city_only = {**CHENGDU_WECHAT, "sites": ["city"], "default_columns": []}
    ids["city_only"] = (await register(channels, city_only))["id"]
    retired = {
        **CHENGDU_WECHAT,
        "unit": "大邑县人民政府办公室",
        "name": "大邑发布",
        "default_columns": [],
    }
    ids["closed"] = (await register(channels, retired))["id"]
    close = {"status": "closed", "reason": "账号注销"}
    path = f"{ACCOUNTS}/{ids['closed']}/status"
    assert (await channels.client.post(path, json=close, headers=ADMIN)).status_code == 200
    ids["unknown"] = "acc_0000000000000000000000000000dead"
    return ids


def by_code(findings: list[dict[str, str]]) -> dict[str, str]:
    return {f["code"]: f["reason"] for f in findings}


async def test_the_preview_shows_each_rendition_and_where_it_would_go(
    channels: Distribute,
) -> None:
    ids = await accounts_of_every_kind(channels)
    named = [ids[k] for k in ("off_domain", "city_only", "closed", "unknown")]
    item = ingested("c1", title=LONG_TITLE, columns=["news"], accounts=named)
    await channels.handle(item)

    response = await channels.client.get("/api/v1/channels/previews/c1/1", headers=EDITOR)
    assert response.status_code == 200, response.text
    preview: dict[str, Any] = response.json()
    assert (preview["content_id"], preview["version"]) == ("c1", 1)
    assert preview["content_hash"] == item.content_hash

    variants = preview["variants"]
    assert sorted(variants) == ["wechat", "weibo"]
    for platform, variant in variants.items():
        assert variant["variant_hash"] == variant_hash(variant["body"]), platform
        assert variant["content_hash"] == item.content_hash
    assert "title_too_long" in by_code(variants["wechat"]["findings"])
    assert variants["weibo"]["findings"] == []
    async with channels.app.state.db.sessions() as session:
        stored = {v.platform: v for v in (await session.execute(select(ChannelVariant))).scalars()}
    assert {p: v.variant_hash for p, v in stored.items()} == {
        p: v["variant_hash"] for p, v in variants.items()
    }

    accounts = {a["id"]: a for a in preview["accounts"]}
    assert set(accounts) == {ids["wechat"], ids["weibo"], ids["off_domain"]}
    assert accounts[ids["wechat"]]["via"] == ["column"]
    assert accounts[ids["wechat"]]["ready"] is False  # its platform's rendition has a finding
    assert accounts[ids["weibo"]]["findings"] == [] and accounts[ids["weibo"]]["ready"] is True
    off = accounts[ids["off_domain"]]
    assert off["via"] == ["named"] and off["ready"] is False
    assert "example.com" in by_code(off["findings"])["link_not_on_safe_domain"]
    assert off["variant_hash"] == variants["weibo"]["variant_hash"]

    refused = {f["code"]: f["reason"] for f in preview["findings"]}
    assert set(refused) == {"account_not_on_site", "account_closed", "unknown_account"}
    assert all(f["field"] == "accounts" for f in preview["findings"])
    assert ids["unknown"] in refused["unknown_account"]
    assert "已注销" in refused["account_closed"]


async def test_an_unknown_version_or_one_outside_the_callers_sites_is_404(
    channels: Distribute,
) -> None:
    await channels.handle(ingested("c1"))
    assert (
        await channels.client.get("/api/v1/channels/previews/c1/1", headers=EDITOR)
    ).status_code == 200
    for path, who in (
        ("/api/v1/channels/previews/c1/2", EDITOR),
        ("/api/v1/channels/previews/nothing/1", EDITOR),
        ("/api/v1/channels/previews/c1/1", staff("city-editor", ("editor",), sites=["city"])),
    ):
        response = await channels.client.get(path, headers=who)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["errors"][0]["field"] == "version"
    for bad_path in ("c1/0", f"c1/{2**64}", "%C3%98/1", "c1%0D/1", f"{'x' * 41}/1"):
        bad = await channels.client.get(f"/api/v1/channels/previews/{bad_path}", headers=EDITOR)
        assert bad.status_code == 422, (bad_path, bad.text)  # never a 500, never asked of ingest
