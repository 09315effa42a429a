"""The Weibo adapter: posts a rendition (`channels.weibo_render`) with `statuses/share`, finds it
again on the account's timeline by our marker, takes it down with `statuses/destroy`.

One step only (`share`), and it is the one that makes the post public: the answer to it, when
lost after the request went out (a read timeout, a dropped connection), is `UNKNOWN` — the job
reconciles it with `confirm`, never by sending again. What was not sent (no connection could be
made) is `RETRY`.

The post keeps `idstr`, never the numeric `id` (beyond 2^53, it does not survive a float).

The picture: fetched from the portal through the same guarded client and uploaded with the
status. A picture that cannot be fetched (or is not a JPEG/GIF/PNG under 5 MB) does not hold the
post back: the status goes without it, and the result says so in `error` and in
`progress["picture"]` ("omitted: …"), so the editor can see it.

Weibo tokens cannot be refreshed by the hub: an expired or invalid token (21327, 21332) is a
`CONFIG` outcome — the account must be authorised again.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from common.outbound import DestinationRefused, OutboundPolicy, outbound_client
from services.distribute.channels.contract import (
    RESPONSE_LIMIT,
    AccountAccess,
    Outcome,
    StepResult,
)
from services.distribute.channels.weibo_render import MARKER_MAX, MARKER_PARAM, status_text
from services.distribute.settings import DistributeSettings

SHARE = "share"
CONFIRM_PAGES = 3  # timeline pages read back by `confirm` (newest first)
PAGE_SIZE = 100
PICTURE_LIMIT = 5 * 1024 * 1024
PICTURE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}

# Error codes → outcome (the platform's classes). 20021 (content refused, e.g. a topic) and
# 20102 (not this account's post) are the sandbox's and the platform's refusals besides.
ERROR_CLASSES: dict[int, Outcome] = {
    **dict.fromkeys((10001, 10002, 10003, 10009, 10011), Outcome.RETRY),
    **dict.fromkeys((10022, 10023, 10024, 20016), Outcome.PARK),
    **dict.fromkeys((20017, 20019, 20111), Outcome.DUPLICATE),
    **dict.fromkeys((20005, 20006, 20007, 20012, 20021), Outcome.EDIT),
    **dict.fromkeys((10006, 10014, 10017, 20102, 21327, 21332), Outcome.CONFIG),
}
# transport errors raised before the request could have reached the platform
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def classify(status_code: int, error_code: int | None) -> Outcome:
    """The outcome of an error answer: its error code's class; else HTTP 5xx and 429 are
    transient and anything else needs an operator (CONFIG)."""
    if error_code is not None and error_code in ERROR_CLASSES:
        return ERROR_CLASSES[error_code]
    if status_code >= 500:
        return Outcome.RETRY
    if status_code == 429:
        return Outcome.PARK
    return Outcome.CONFIG


def next_hour(now: datetime) -> float:
    """Seconds from `now` to the top of the next hour (when Weibo's hourly limits reset)."""
    top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (top - now).total_seconds()


def retry_after(header: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not header:
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


def marker_pattern(marker: str) -> re.Pattern[str]:
    """Our marker as it appears in a posted link: `?k=<marker>` or `&k=<marker>`, whole."""
    return re.compile(rf"[?&]{MARKER_PARAM}={re.escape(marker)}(?![A-Za-z0-9_-])")


def carries(status: dict[str, Any], pattern: re.Pattern[str]) -> bool:
    """Whether a timeline status carries our marker: in its text, or (where the platform shortened
    the link) in the original URL of its `url_struct`."""
    if pattern.search(str(status.get("text", ""))):
        return True
    links = status.get("url_struct") or []
    return any(
        pattern.search(str(link.get("ori_url") or link.get("long_url") or ""))
        for link in links
        if isinstance(link, dict)
    )


@dataclass
class Answer:
    """One call's answer: the JSON (None if there was none), or the transport error."""

    status_code: int | None
    data: Any
    text: str
    duration_ms: int
    error: Exception | None = None
    retry_after: str | None = None

    @property
    def error_code(self) -> int | None:
        if isinstance(self.data, dict) and isinstance(self.data.get("error_code"), int):
            return int(self.data["error_code"])
        return None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code == 200 and self.error_code is None

    def result(self, outcome: Outcome, **fields: Any) -> StepResult:
        """A StepResult carrying this answer's evidence."""
        return StepResult(
            outcome,
            response=self.text[:RESPONSE_LIMIT],
            status_code=self.status_code,
            duration_ms=self.duration_ms,
            **fields,
        )


class WeiboAdapter:
    """`ChannelAdapter` for Weibo over one guarded `httpx.AsyncClient`; keeps no state."""

    platform = "weibo"
    final_steps = frozenset({SHARE})

    def __init__(self, client: httpx.AsyncClient, base_url: str, rip: str = "") -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.rip = rip  # the hub's public address, sent as `rip` when known

    def next_step(self, variant: dict[str, Any], progress: dict[str, Any]) -> str:
        return SHARE

    # ---- calls ---------------------------------------------------------------------------

    async def call(self, method: str, path: str, **options: Any) -> Answer:
        """One API call; never raises for what the network or the platform did."""
        started = time.perf_counter()
        try:
            response = await self.client.request(method, self.base_url + path, **options)
        except httpx.HTTPError as error:
            return Answer(None, None, f"{type(error).__name__}: {error}", _ms(started), error)
        try:
            data = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            data = None
        return Answer(
            response.status_code,
            data,
            response.text,
            _ms(started),
            retry_after=response.headers.get("retry-after"),
        )

    def failure(self, answer: Answer, sent_outcome: Outcome = Outcome.RETRY) -> StepResult:
        """The result of a call that did not succeed. A transport error after the request went
        out is `sent_outcome` (UNKNOWN for `share`, RETRY for calls that change nothing)."""
        if answer.error is not None:
            if isinstance(answer.error, DestinationRefused):
                outcome = Outcome.CONFIG
            elif isinstance(answer.error, NOT_SENT):
                outcome = Outcome.RETRY
            else:
                outcome = sent_outcome
            return answer.result(outcome, error=answer.text[:500])
        code = answer.error_code
        outcome = classify(answer.status_code or 0, code)
        message = str(answer.data.get("error", "")) if isinstance(answer.data, dict) else ""
        return answer.result(
            outcome,
            error_code=str(code) if code is not None else f"http_{answer.status_code}",
            error=message or answer.text[:300],
            retry_after=self.wait(answer, outcome),
        )

    def wait(self, answer: Answer, outcome: Outcome) -> float | None:
        """How long to wait: Retry-After when given; a parked post waits for the next hour."""
        now = datetime.now(UTC)
        given = retry_after(answer.retry_after, now)
        if given is not None:
            return given
        return next_hour(now) if outcome is Outcome.PARK else None

    # ---- the contract ----------------------------------------------------------------------

    async def verify(self, account: AccountAccess) -> StepResult:
        """`account/get_uid`: STEP_DONE when the token is the account's, else the error class
        (CONFIG when it belongs to another uid)."""
        answer = await self.call("GET", "/2/account/get_uid.json", params=_token(account))
        if not answer.ok:
            return self.failure(answer)
        uid = str(answer.data.get("uid", "")) if isinstance(answer.data, dict) else ""
        if account.platform_account_id and uid != account.platform_account_id:
            return answer.result(
                Outcome.CONFIG,
                error_code="uid_mismatch",
                error=f"令牌属于微博用户 {uid or '（未知）'}，不是该账号 "
                f"{account.platform_account_id}",
            )
        return answer.result(Outcome.STEP_DONE, progress={"uid": uid})

    async def publish(
        self, account: AccountAccess, variant: dict[str, Any], marker: str, progress: dict[str, Any]
    ) -> StepResult:
        """`statuses/share` of teaser + marked link (+ the picture): PUBLISHED with `idstr`, or
        UNKNOWN when the answer was lost after sending, or the error class."""
        if not marker or len(marker) > MARKER_MAX:
            return StepResult(
                Outcome.CONFIG, error_code="bad_marker", error=f"marker must be 1–{MARKER_MAX}"
            )
        data = {**_token(account), "status": status_text(variant, marker)}
        if self.rip:
            data["rip"] = self.rip
        picture, note = await self.picture(variant.get("picture"))
        files = {"pic": picture} if picture else None
        answer = await self.call("POST", "/2/statuses/share.json", data=data, files=files)
        sent = {"marker": marker, "picture": note}
        if not answer.ok:
            result = self.failure(answer, Outcome.UNKNOWN)
            result.progress = sent
            return result
        return self.posted(answer, account, sent, note)

    def posted(
        self, answer: Answer, account: AccountAccess, sent: dict[str, Any], note: str
    ) -> StepResult:
        """The result of a share the platform answered with a status (UNKNOWN without idstr)."""
        status = answer.data if isinstance(answer.data, dict) else {}
        idstr = str(status.get("idstr") or "")
        if not idstr:
            return answer.result(Outcome.UNKNOWN, progress=sent, error="answer without idstr")
        result = self.published(answer, account, status)
        result.progress = {**sent, **result.progress}
        if note.startswith("omitted"):
            result.error = f"配图未能附上（{note}），微博已不带配图发出"
        return result

    def published(
        self, answer: Answer, account: AccountAccess, status: dict[str, Any]
    ) -> StepResult:
        idstr = str(status.get("idstr") or "")
        user = status.get("user") if isinstance(status.get("user"), dict) else {}
        uid = str((user or {}).get("idstr") or account.platform_account_id)
        return answer.result(
            Outcome.PUBLISHED,
            progress={"idstr": idstr, "uid": uid},
            stage="published",
            post_url=f"https://weibo.com/{uid}/{idstr}",
            platform_post_id=idstr,
        )

    async def picture(self, url: Any) -> tuple[tuple[str, bytes, str] | None, str]:
        """The picture to upload as (filename, bytes, type), and a note for the progress:
        "" (none), "attached", or "omitted: <why>". Read as a stream, never past the limit."""
        if not url:
            return None, ""
        try:
            async with self.client.stream("GET", str(url), follow_redirects=True) as response:
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if response.status_code != 200:
                    return None, f"omitted: HTTP {response.status_code}"
                if kind not in PICTURE_TYPES:
                    return None, f"omitted: {kind or 'no content type'}"
                data = await _read_at_most(response, PICTURE_LIMIT)
        except httpx.HTTPError as error:
            return None, f"omitted: {type(error).__name__}"
        if data is None:
            return None, "omitted: 5 MB or more"
        return (f"picture.{PICTURE_TYPES[kind]}", data, kind), "attached"

    async def confirm(
        self, account: AccountAccess, marker: str, progress: dict[str, Any]
    ) -> StepResult:
        """Read the account's timeline (newest first, `CONFIRM_PAGES` pages) for a status
        carrying `marker`: PUBLISHED with its idstr, else ABSENT."""
        found, answer = await self.find(account, marker)
        if not answer.ok:
            return self.failure(answer)
        if found is None:
            return answer.result(Outcome.ABSENT)
        return self.published(answer, account, found)

    async def find(
        self, account: AccountAccess, marker: str
    ) -> tuple[dict[str, Any] | None, Answer]:
        """The status carrying `marker` (or None) and the last answer read."""
        pattern = marker_pattern(marker)
        page = 1
        while True:
            params = {**_token(account), "count": PAGE_SIZE, "page": page}
            answer = await self.call("GET", "/2/statuses/user_timeline.json", params=params)
            if not answer.ok:
                return None, answer
            statuses = _statuses(answer.data)
            match = next((s for s in statuses if carries(s, pattern)), None)
            if match is not None or len(statuses) < PAGE_SIZE or page >= CONFIRM_PAGES:
                return match, answer
            page += 1

    async def retract(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        """`statuses/destroy` of the post's idstr (found by its marker when only that is known):
        REMOVED, also when it is gone already (20101) or was never found."""
        idstr = str(progress.get("idstr") or "")
        if not idstr and progress.get("marker"):
            found, answer = await self.find(account, str(progress["marker"]))
            if not answer.ok:
                return self.failure(answer)
            idstr = str((found or {}).get("idstr") or "")
        if not idstr:
            return StepResult(Outcome.REMOVED, stage="removed", error="没有找到这条微博")
        data = {**_token(account), "id": idstr}
        answer = await self.call("POST", "/2/statuses/destroy.json", data=data)
        if answer.ok or answer.error_code == 20101:
            return answer.result(Outcome.REMOVED, stage="removed", platform_post_id=idstr)
        return self.failure(answer)

    async def aclose(self) -> None:
        await self.client.aclose()


def weibo_adapter(settings: DistributeSettings) -> WeiboAdapter:
    """The adapter for `settings.weibo_api_url`, through the outbound policy, with the channel
    timeout on every call (a share's timeout is an unknown outcome, reconciled by `confirm`)."""
    policy = OutboundPolicy.from_settings(settings)
    client = outbound_client(policy, timeout=httpx.Timeout(settings.channel_timeout_seconds))
    return WeiboAdapter(client, settings.weibo_api_url)


def _token(account: AccountAccess) -> dict[str, str]:
    return {"access_token": account.credentials.get("access_token", "")}


def _statuses(data: Any) -> list[dict[str, Any]]:
    statuses = data.get("statuses") if isinstance(data, dict) else None
    return [s for s in statuses or [] if isinstance(s, dict)]


async def _read_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """The body if it is shorter than `limit` bytes, else None (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size >= limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
