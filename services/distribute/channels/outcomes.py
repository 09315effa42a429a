"""How an adapter's outcome moves a new-media delivery (pure rules; `channels.delivery` applies
them to the rows).

| outcome | publish | retract |
|---|---|---|
| STEP_DONE | progress saved, next step at once | — |
| ACCEPTED | `confirming`: read back every `wechat_confirm_seconds` | — |
| PUBLISHED | `delivered` (post URL and id recorded) | — |
| RETRY | `pending`, jittered exponential backoff; `failed` after `MAX_RETRIES` | same |
| PARK | `parked` until the quota resets (never earlier), the account's pause recorded | same |
| EDIT | `needs_edit`: back to the editors with the platform's reason | `failed` |
| CONFIG | `failed`, the account's `status_reason` set, an ERROR log and a metric (alert) | same |
| UNKNOWN, DUPLICATE | `unknown`: reconciled by reading back (`confirm`), never resent | retry |
| FAILED | `failed` | `failed` |
| ABSENT | reading back found nothing: the post is sent again (`pending`) | — |
| REMOVED | — | `delivered` (retracted) |
"""

from __future__ import annotations

import random

from services.distribute.channels.contract import Outcome

MAX_RETRIES = 6  # consecutive transient failures of one delivery before it fails
RETRY_FIRST_SECONDS = 2.0
RETRY_CEILING_SECONDS = 600.0
# publish deliveries still on their way: the release keeps delivering while any is in one
OPEN_CHANNEL_STATES = ("pending", "sending", "confirming", "unknown", "parked")


def retry_delay(
    retries: int, first: float = RETRY_FIRST_SECONDS, ceiling: float = RETRY_CEILING_SECONDS
) -> float:
    """Seconds before the next attempt after `retries` consecutive transient failures: doubling
    from `first`, capped at `ceiling`, with full jitter in the upper half (so posts that failed
    together do not come back together)."""
    top = min(ceiling, first * (2 ** max(retries - 1, 0)))
    return random.uniform(top / 2, top)


def publish_state(outcome: Outcome) -> str:
    """The delivery state a publish call's outcome leads to (`sending` = go on at once)."""
    return {
        Outcome.STEP_DONE: "sending",
        Outcome.ACCEPTED: "confirming",
        Outcome.PUBLISHED: "delivered",
        Outcome.RETRY: "pending",
        Outcome.PARK: "parked",
        Outcome.EDIT: "needs_edit",
        Outcome.CONFIG: "failed",
        Outcome.UNKNOWN: "unknown",
        Outcome.DUPLICATE: "unknown",
        Outcome.FAILED: "failed",
        Outcome.ABSENT: "pending",
    }.get(outcome, "failed")


def retract_state(outcome: Outcome) -> str:
    """The state a takedown call's outcome leads to (an unknown answer is simply retried:
    taking down twice is harmless, the platform answers "already gone")."""
    return {
        Outcome.REMOVED: "delivered",
        Outcome.RETRY: "pending",
        Outcome.UNKNOWN: "pending",
        Outcome.PARK: "parked",
    }.get(outcome, "failed")


def outcome_detail(outcome: Outcome, error: str, code: str) -> str:
    """The `delivery.updated` detail of a call that did not succeed."""
    label = {
        Outcome.RETRY: "平台暂时不可用，稍后重试",
        Outcome.PARK: "平台配额已用完，等待配额恢复",
        Outcome.EDIT: "平台拒绝了内容，需编辑修改",
        Outcome.CONFIG: "账号或应用配置错误，需管理员处理",
        Outcome.UNKNOWN: "已发出但未收到答复，将回读核对",
        Outcome.DUPLICATE: "平台称已有此内容，将回读核对",
        Outcome.FAILED: "平台终止了发布",
    }.get(outcome, str(outcome))
    suffix = f"（{code}）" if code else ""
    return f"{label}{suffix}: {error}"[:1000] if error else f"{label}{suffix}"
