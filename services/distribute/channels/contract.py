"""The contract between the new-media delivery job and the platform adapters.

An adapter (`services.distribute.clients.wechat`, `…clients.weibo`) knows one platform's HTTP
API and error codes; it keeps no state beyond its token cache. The job owns the state: it
stores every step's `progress` (committed before the next step is attempted), so a post that was
interrupted goes on from where it stopped and a step that makes the post public is never sent
twice — a lost answer to such a step is an `UNKNOWN` outcome, reconciled by `confirm` (reading
the account back), never by sending again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import orjson

PLATFORMS = ("wechat", "weibo")
RESPONSE_LIMIT = 2000  # characters of a platform's answer kept as evidence


@dataclass(frozen=True)
class Finding:
    """Something the item cannot be rendered with on a platform: for the editor, not a failed
    post (`field` names the item's field, `code` is stable, `reason` is in Chinese)."""

    field: str
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Rendered:
    """An item's rendition for one platform. `body` is JSON-able and is exactly what is posted
    (the job adds only the marker); a rendition with findings is never posted."""

    platform: str
    body: dict[str, Any]
    findings: tuple[Finding, ...] = ()

    @property
    def variant_hash(self) -> str:
        return variant_hash(self.body)


def variant_hash(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys) of a variant body."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Outcome(StrEnum):
    """How one adapter call ended; the job maps each to a delivery state (see `ERROR_CLASSES`
    in docs/ARCHITECTURE.md's distribute section)."""

    STEP_DONE = "step_done"  # a preparatory step succeeded; call `publish` again for the next
    ACCEPTED = "accepted"  # the platform took the post; its outcome comes later (`confirm`)
    PUBLISHED = "published"  # live: `post_url` / `platform_post_id` known
    RETRY = "retry"  # transient (busy, 5xx, per-minute limit): back off with jitter
    PARK = "park"  # quota exhausted (45009, 45028, 10022…): wait until it resets, in plan order
    EDIT = "edit"  # the platform refused the content (87014, 45166, 20012…): back to editors
    CONFIG = "config"  # the account or app is misconfigured (40164, 48001, 10017, 21327…)
    UNKNOWN = "unknown"  # sent, answer lost (timeout after send): reconcile by reading back
    DUPLICATE = "duplicate"  # the platform says it has it already (20019…): read back
    FAILED = "failed"  # final: the platform ended the post (publish_status 2, 3, 4, 6)
    ABSENT = "absent"  # reading back found no trace of the post: sending is safe
    REMOVED = "removed"  # taken down (or already gone)


@dataclass
class StepResult:
    """One adapter call's outcome. `progress` is merged into the post's stored progress;
    `stage` is the post's new stage if it moved (`ChannelPost.stage`)."""

    outcome: Outcome
    progress: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None
    post_url: str = ""
    platform_post_id: str = ""
    error_code: str = ""
    error: str = ""
    response: str = ""  # the platform's answer, at most RESPONSE_LIMIT characters
    retry_after: float | None = None  # seconds, from Retry-After or the platform's limit rules
    status_code: int | None = None
    duration_ms: int = 0


@dataclass(frozen=True)
class AccountAccess:
    """What an adapter needs of an account; `credentials` are opened from the sealed column
    (WeChat: appid, secret; Weibo: access_token) and never logged."""

    account_id: str
    platform: str
    platform_account_id: str
    app_id: str
    credentials: dict[str, str] = field(repr=False)
    safe_domain: str = ""


class ChannelAdapter(Protocol):
    """One platform's API. Every method returns a `StepResult` and never raises for what the
    platform or the network did (a timeout is a result, not an exception)."""

    platform: str
    # steps whose success makes the post public: the job records that one is being attempted
    # before calling `publish`, and an interrupted one is reconciled by `confirm`
    final_steps: frozenset[str]

    def next_step(self, variant: dict[str, Any], progress: dict[str, Any]) -> str:
        """The step `publish` would do next from this progress (e.g. WeChat `uploadimg`,
        `cover`, `draft`, `submit`; Weibo `share`)."""
        ...

    async def verify(self, account: AccountAccess) -> StepResult:
        """Check the credentials (a token for WeChat, the uid for Weibo): STEP_DONE or the
        error class (CONFIG for refused credentials)."""
        ...

    async def publish(
        self, account: AccountAccess, variant: dict[str, Any], marker: str, progress: dict[str, Any]
    ) -> StepResult:
        """Do the next step (`next_step`): STEP_DONE with its progress, ACCEPTED, PUBLISHED, or
        an error class. `marker` must appear in what is posted (the link to the portal page)."""
        ...

    async def confirm(
        self, account: AccountAccess, marker: str, progress: dict[str, Any]
    ) -> StepResult:
        """Read the post back (WeChat `freepublish/get`, else `batchget` by marker; Weibo the
        account's timeline by marker): PUBLISHED, ACCEPTED (still publishing), FAILED, ABSENT."""
        ...

    async def retract(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        """Take the post down (WeChat `freepublish/delete`, Weibo `statuses/destroy`):
        REMOVED (also when it was already gone) or an error class."""
        ...

    async def aclose(self) -> None: ...
