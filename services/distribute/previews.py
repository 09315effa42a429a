"""The channel preview review shows before sign-off: what one version becomes on WeChat and
Weibo and which accounts it would go to — the same renditions (stored) and the same targets
the release uses, so what the reviewers see is what is posted. Nothing is sent."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound
from services.distribute.channels.contract import Finding
from services.distribute.channels.release import targets_of
from services.distribute.channels.variants import variants_for
from services.distribute.channels.weibo_render import link_finding
from services.distribute.library import VersionSource, load_snapshot
from services.distribute.models import ChannelAccount, ChannelVariant, ContentSnapshot
from services.distribute.pagetags import iso

SUSPENDED = "该账号已暂停，稿件待账号恢复后发出"


def variant_out(variant: ChannelVariant) -> dict[str, Any]:
    return {
        "platform": variant.platform,
        "variant_hash": variant.variant_hash,
        "content_hash": variant.content_hash,
        "body": variant.body,
        "findings": variant.findings,
        "rendered_at": iso(variant.rendered_at),
    }


def account_findings(account: ChannelAccount, variant: ChannelVariant | None) -> list[Finding]:
    """What keeps the rendition off this account in particular (a Weibo link outside its safe
    domain), or holds it back (a suspended account)."""
    found: list[Finding] = []
    if account.platform == "weibo" and variant is not None:
        finding = link_finding(account.safe_domain, str(variant.body.get("link", "")))
        if finding is not None:
            found.append(finding)
    if account.status == "suspended":
        found.append(Finding("accounts", "account_suspended", SUSPENDED))
    return found


def account_view(
    account: ChannelAccount, snapshot: ContentSnapshot, variants: dict[str, ChannelVariant]
) -> dict[str, Any]:
    listed = {f"{snapshot.site}/{column}" for column in snapshot.columns}
    via = (["named"] if account.id in snapshot.accounts else []) + (
        ["column"] if listed.intersection(account.default_columns) else []
    )
    variant = variants.get(account.platform)
    findings = [f.as_dict() for f in account_findings(account, variant)]
    return {
        "id": account.id,
        "platform": account.platform,
        "name": account.name,
        "unit": account.unit,
        "via": via,
        "variant_hash": variant.variant_hash if variant else None,
        "findings": findings,
        "ready": variant is not None and not variant.findings and not findings,
    }


async def refusal(session: AsyncSession, account_id: str, reason: str) -> dict[str, str]:
    """A named account the item cannot go to, as a finding on `accounts`."""
    account = await session.get(ChannelAccount, account_id)
    if account is None:
        code = "unknown_account"
    elif account.status == "closed":
        code = "account_closed"
    else:
        code = "account_not_on_site"
    return {"field": "accounts", "code": code, "reason": f"{reason}（{account_id}）"}


async def channel_preview(
    session: AsyncSession,
    fetcher: VersionSource,
    content_id: str,
    version: int,
    sites: list[str] | None = None,
) -> dict[str, Any]:
    """The preview of one version (`ChannelPreviewPublic`); a version that does not exist, or
    is on a site outside the caller's (`sites`, None = all), is a 404."""
    snapshot = await load_snapshot(session, fetcher, content_id, version)
    if snapshot is None or (sites is not None and snapshot.site not in sites):
        raise NotFound(f"no version {version} of content item {content_id}", field="version")
    variants = await variants_for(session, snapshot)
    chosen, refused = await targets_of(session, snapshot)
    return {
        "content_id": snapshot.content_id,
        "version": snapshot.version,
        "content_hash": snapshot.content_hash,
        "site": snapshot.site,
        "variants": {platform: variant_out(v) for platform, v in sorted(variants.items())},
        "accounts": [account_view(a, snapshot, variants) for a in chosen],
        "findings": [await refusal(session, i, reason) for i, reason in refused.items()],
    }
