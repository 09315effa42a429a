"""The WeChat official-account adapter: one article per post, in four steps.

`uploadimg` re-hosts each in-article image (the platform drops images hosted elsewhere),
`cover` uploads the cover as permanent image material (its media id is the draft's thumb; an
item without a picture gets the hub's default cover, uploaded once per account per process),
`draft` adds the draft with the re-hosted images and the marker in `content_source_url`
(`k=<marker>`), `submit` hands it to `freepublish` — the only step that makes it public, so a
lost answer there is UNKNOWN, never retried blindly. `confirm` reads the job
(`freepublish/get`) or, without a publish id, finds the marker among the account's published
articles (`freepublish/batchget`).

The cover goes up as `type=image` rather than `thumb`: the platform caps thumbs at 64 KB, which
most portal pictures exceed, and a permanent image's media id is accepted as a thumb.

Tokens: one holder per account in the process (`stable_token`, renewed shortly before expiry);
a call answered 40001/40014/42001 forces one refresh and is sent once more.
"""

from __future__ import annotations

import asyncio
import html
import re
import struct
import time
import zlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import orjson

from common.outbound import DestinationRefused, OutboundPolicy, outbound_client
from services.distribute.channels.contract import (
    RESPONSE_LIMIT,
    AccountAccess,
    Outcome,
    StepResult,
)
from services.distribute.settings import DistributeSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARKER_PARAM = "k"
REFRESH_CODES = frozenset({40001, 40014, 42001})
IMAGE_LIMIT = 10_000_000  # bytes read of a source image at most (uploadimg takes < 1 MB)
BATCH_PAGE = 20
BATCH_PAGES = 10  # the marker is looked for among the account's 200 newest articles
RATE_WAIT = 60.0  # 45011: the per-minute limit resets within a minute

# errcode → (class, why, in Chinese). Codes not listed are retried (logged with their text).
ERROR_CLASSES: dict[int, tuple[Outcome, str]] = {
    -1: (Outcome.RETRY, "平台系统繁忙"),
    -1000: (Outcome.RETRY, "平台系统错误"),
    45011: (Outcome.RETRY, "调用过于频繁（每分钟限额）"),
    53501: (Outcome.RETRY, "发布过于频繁"),
    40001: (Outcome.RETRY, "access_token 无效（已刷新仍失败）"),
    40014: (Outcome.RETRY, "access_token 不合法（已刷新仍失败）"),
    42001: (Outcome.RETRY, "access_token 已过期（已刷新仍失败）"),
    45009: (Outcome.PARK, "接口今日调用次数已用完"),
    45028: (Outcome.PARK, "群发配额已用完"),
    45166: (Outcome.EDIT, "内容不合规"),
    87014: (Outcome.EDIT, "内容含有违规信息"),
    53503: (Outcome.EDIT, "草稿未通过发布检查"),
    45002: (Outcome.EDIT, "正文超过平台长度限制"),
    45003: (Outcome.EDIT, "标题超过平台长度限制"),
    45004: (Outcome.EDIT, "摘要超过平台长度限制"),
    40164: (Outcome.CONFIG, "调用 IP 不在公众号白名单中"),
    48001: (Outcome.CONFIG, "公众号未获得该接口权限"),
    48004: (Outcome.CONFIG, "接口被封禁"),
    53500: (Outcome.CONFIG, "发布功能被封禁"),
    40013: (Outcome.CONFIG, "AppID 无效"),
    40125: (Outcome.CONFIG, "AppSecret 无效"),
    40002: (Outcome.CONFIG, "grant_type 无效"),
    41001: (Outcome.CONFIG, "缺少 access_token"),
    40005: (Outcome.EDIT, "图片文件类型不受支持（仅 jpg/png）"),
    40006: (Outcome.EDIT, "图片文件大小不合法"),
    40009: (Outcome.EDIT, "图片大小超过限制（需小于 1 MB）"),
    45001: (Outcome.EDIT, "多媒体文件大小超过限制"),
    45065: (Outcome.DUPLICATE, "平台提示内容已发送"),
}
FAILED_STATUS = {2: "原创声明校验未通过", 3: "发布失败", 4: "平台审核不通过", 6: "发布成功后被封禁"}
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
SRC_ATTR = re.compile(r'(\ssrc=")([^"]*)(")', re.IGNORECASE)


class Stop(Exception):
    """A step ended early with `result` (an error class); caught where the step began."""

    def __init__(self, result: StepResult) -> None:
        super().__init__(result.outcome)
        self.result = result


@dataclass
class Reply:
    """One HTTP exchange: the answer's JSON, or why there was none (`sent`: the request may
    have reached the platform)."""

    status: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    error: str = ""
    sent: bool = False
    refused: bool = False
    retry_after: float | None = None

    @property
    def errcode(self) -> int:
        code = self.data.get("errcode", 0)
        return code if isinstance(code, int) else -1

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error and self.errcode == 0


@dataclass
class Token:
    value: str
    renew_at: float  # monotonic time from which it is fetched again


@dataclass
class TokenHolder:
    """One account's token and the lock that makes one fetch at a time."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: Token | None = None


class WechatAdapter:
    """`ChannelAdapter` for WeChat official accounts (see the module docstring)."""

    platform = "wechat"
    final_steps = frozenset({"submit"})

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.holders: dict[str, TokenHolder] = {}
        self.default_covers: dict[str, str] = {}  # account id → media id of the default cover

    # the contract -----------------------------------------------------------------------

    def next_step(self, variant: dict[str, Any], progress: dict[str, Any]) -> str:
        if pending_images(variant, progress):
            return "uploadimg"
        for key, step in (("thumb_media_id", "cover"), ("media_id", "draft")):
            if not progress.get(key):
                return step
        return "confirm" if progress.get("publish_id") else "submit"

    async def verify(self, account: AccountAccess) -> StepResult:
        return await timed(self._verify(account))

    async def publish(
        self, account: AccountAccess, variant: dict[str, Any], marker: str, progress: dict[str, Any]
    ) -> StepResult:
        step = self.next_step(variant, progress)
        return await timed(self._step(step, account, variant, marker, progress))

    async def confirm(
        self, account: AccountAccess, marker: str, progress: dict[str, Any]
    ) -> StepResult:
        return await timed(self._confirm(account, marker, progress))

    async def retract(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        return await timed(self._retract(account, progress))

    async def aclose(self) -> None:
        await self.client.aclose()

    # steps --------------------------------------------------------------------------------

    async def _step(
        self,
        step: str,
        account: AccountAccess,
        variant: dict[str, Any],
        marker: str,
        progress: dict[str, Any],
    ) -> StepResult:
        if step == "uploadimg":
            return await self._upload_image(account, variant, progress)
        if step == "cover":
            return await self._cover(account, variant)
        if step == "draft":
            return await self._draft(account, variant, marker, progress)
        if step == "submit":
            return await self._submit(account, progress)
        return await self._confirm(account, marker, progress)  # submitted already

    async def _verify(self, account: AccountAccess) -> StepResult:
        reply = await self._fetch_token(account, force=False)
        if not reply.ok:
            return classify(reply, final=False)
        return StepResult(Outcome.STEP_DONE, response=token_evidence(reply))

    async def _upload_image(
        self, account: AccountAccess, variant: dict[str, Any], progress: dict[str, Any]
    ) -> StepResult:
        src = pending_images(variant, progress)[0]
        data = await self._download(src)
        reply = await self._call(account, "media/uploadimg", files=media_part(src, data), what=src)
        hosted = str(reply.data.get("url", ""))
        images = dict(progress.get("images") or {}) | {src: hosted}
        return step_done(reply, {"images": images})

    async def _cover(self, account: AccountAccess, variant: dict[str, Any]) -> StepResult:
        cover = variant.get("cover")
        if not cover:
            return await self._default_cover(account)
        data = await self._download(str(cover))
        reply = await self._call(
            account, "material/add_material", params={"type": "image"},
            files=media_part(str(cover), data), what=str(cover),
        )  # fmt: skip
        progress = {"thumb_media_id": reply.data.get("media_id", ""), "cover_url": cover}
        return step_done(reply, progress, stage="uploaded")

    async def _default_cover(self, account: AccountAccess) -> StepResult:
        known = self.default_covers.get(account.account_id)
        if known:
            return StepResult(
                Outcome.STEP_DONE, {"thumb_media_id": known, "cover_url": ""}, stage="uploaded"
            )
        reply = await self._call(
            account, "material/add_material", params={"type": "image"},
            files=media_part("cover.png", DEFAULT_COVER), what="默认封面",
        )  # fmt: skip
        media_id = str(reply.data.get("media_id", ""))
        self.default_covers[account.account_id] = media_id
        return step_done(reply, {"thumb_media_id": media_id, "cover_url": ""}, stage="uploaded")

    async def _draft(
        self, account: AccountAccess, variant: dict[str, Any], marker: str, progress: dict[str, Any]
    ) -> StepResult:
        article = draft_article(variant, marker, progress)
        try:
            reply = await self._call(account, "draft/add", json={"articles": [article]})
        except Stop as stop:
            if stop.result.error_code == "40007":  # the cover is gone: upload it again
                self.default_covers.pop(account.account_id, None)
                stop.result.outcome, stop.result.progress = Outcome.RETRY, {"thumb_media_id": ""}
            raise
        return step_done(reply, {"media_id": reply.data.get("media_id", "")}, stage="drafted")

    async def _submit(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        try:
            reply = await self._call(
                account, "freepublish/submit", json={"media_id": progress["media_id"]}, final=True
            )
        except Stop as stop:
            if stop.result.error_code == "40007":  # the draft was submitted already
                stop.result.outcome = Outcome.DUPLICATE
            raise
        keys = ("publish_id", "msg_data_id")
        found = {key: str(reply.data.get(key, "")) for key in keys}
        return result_of(reply, Outcome.ACCEPTED, found, stage="submitted")

    async def _confirm(
        self, account: AccountAccess, marker: str, progress: dict[str, Any]
    ) -> StepResult:
        if progress.get("publish_id"):
            return await self._job_status(account, str(progress["publish_id"]))
        found = await self._find_marker(account, marker)
        if found is not None:
            return found
        return await self._draft_left(account, progress)

    async def _job_status(self, account: AccountAccess, publish_id: str) -> StepResult:
        reply = await self._call(account, "freepublish/get", json={"publish_id": publish_id})
        status = reply.data.get("publish_status")
        if status == 0:
            url = first_article_url(reply.data)
            article_id = str(reply.data.get("article_id", ""))
            return published(reply, article_id, url)
        if status == 1:
            return result_of(reply, Outcome.ACCEPTED)
        if status == 5:
            return result_of(reply, Outcome.REMOVED, stage="removed")
        if status in FAILED_STATUS:
            failed = result_of(reply, Outcome.FAILED, stage="failed")
            failed.error_code, failed.error = f"publish_status_{status}", FAILED_STATUS[status]
            return failed
        return errored(reply, Outcome.RETRY, "", f"未知的发布状态 {status!r}")

    async def _find_marker(self, account: AccountAccess, marker: str) -> StepResult | None:
        """PUBLISHED if an article of the account carries `marker`, else None."""
        for page in range(BATCH_PAGES):
            body = {"offset": page * BATCH_PAGE, "count": BATCH_PAGE, "no_content": 1}
            reply = await self._call(account, "freepublish/batchget", json=body)
            items = reply.data.get("item") or []
            for item in items:
                url = marked_item_url(item, marker)
                if url is not None:
                    return published(reply, str(item.get("article_id", "")), url)
            if (page + 1) * BATCH_PAGE >= int(reply.data.get("total_count", 0)) or not items:
                return None
        return None

    async def _draft_left(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        """Not published: ABSENT when the draft is still in the draft box (or none was made);
        a draft that left the box was submitted, and its job is still running: ACCEPTED."""
        if not progress.get("media_id"):
            return StepResult(Outcome.ABSENT)
        try:
            reply = await self._call(account, "draft/get", json={"media_id": progress["media_id"]})
        except Stop as stop:
            if stop.result.error_code != "40007":
                raise
            return StepResult(Outcome.ACCEPTED, response=stop.result.response)
        return result_of(reply, Outcome.ABSENT)

    async def _retract(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        article_id = str(progress.get("article_id") or "")
        if not article_id and progress.get("publish_id"):
            status = await self._job_status(account, str(progress["publish_id"]))
            if status.outcome is not Outcome.PUBLISHED:
                return status if status.outcome is Outcome.REMOVED else status_not_live(status)
            article_id = status.platform_post_id
        if not article_id:
            return StepResult(Outcome.REMOVED, stage="removed", error="未发布，无需删除")
        try:
            reply = await self._call(
                account, "freepublish/delete", json={"article_id": article_id, "index": 0}
            )
        except Stop as stop:
            return await self._gone_already(account, progress, stop.result)
        return result_of(reply, Outcome.REMOVED, stage="removed")

    async def _gone_already(
        self, account: AccountAccess, progress: dict[str, Any], refused: StepResult
    ) -> StepResult:
        """A refused delete of an article that is gone already (status 5) is REMOVED."""
        if refused.status_code != 200 or not progress.get("publish_id"):  # no answer: try later
            return refused
        status = await self._job_status(account, str(progress["publish_id"]))
        return status if status.outcome is Outcome.REMOVED else refused

    # HTTP -----------------------------------------------------------------------------------

    async def _call(
        self, account: AccountAccess, path: str, *, final: bool = False, what: str = "",
        **options: Any,
    ) -> Reply:  # fmt: skip
        """POST `path` with the account's token (refreshed once on a token error); the reply
        when the platform said errcode 0, else Stop with the error's class."""
        token = await self._token(account, None)
        reply = await self._post(path, token, options)
        if reply.errcode in REFRESH_CODES:
            token = await self._token(account, token)
            reply = await self._post(path, token, options)
        if not reply.ok:
            raise Stop(classify(reply, final=final, what=what))
        return reply

    async def _post(self, path: str, token: str, options: dict[str, Any]) -> Reply:
        params = dict(options.get("params") or {}) | {"access_token": token}
        kwargs: dict[str, Any] = {"params": params, "files": options.get("files")}
        if "json" in options:
            kwargs["content"] = orjson.dumps(options["json"])  # raw UTF-8, not \\u escapes
            kwargs["headers"] = {"content-type": "application/json"}
        return await self.exchange("POST", f"{self.base_url}/cgi-bin/{path}", kwargs)

    async def exchange(self, method: str, url: str, kwargs: dict[str, Any]) -> Reply:
        """One request; network failures become a Reply (never an exception)."""
        try:
            response = await self.client.request(method, url, **kwargs)
        except DestinationRefused as error:
            return Reply(error=str(error), refused=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            return Reply(error=f"{type(error).__name__}（未发出）: {error}"[:500])
        except httpx.HTTPError as error:
            return Reply(
                error=f"{type(error).__name__}（已发出，未收到回应）: {error}"[:500], sent=True
            )
        return reply_of(response)

    async def _token(self, account: AccountAccess, failed: str | None) -> str:
        """The account's token; with `failed` (a token the platform refused), a forced new one
        unless another call has already replaced it."""
        holder = self.holders.setdefault(account.account_id, TokenHolder())
        async with holder.lock:
            current = holder.token
            fresh = current is not None and time.monotonic() < current.renew_at
            if current is not None and fresh and current.value != failed:
                return current.value
            reply = await self._fetch_token(account, force=failed is not None)
            if not reply.ok or not reply.data.get("access_token"):
                raise Stop(classify(reply, final=False))
            holder.token = token_of(reply.data)
            return holder.token.value

    async def _fetch_token(self, account: AccountAccess, force: bool) -> Reply:
        body = {
            "grant_type": "client_credential",
            "appid": account.credentials.get("appid", account.app_id),
            "secret": account.credentials.get("secret", ""),
            "force_refresh": force,
        }
        kwargs = {"content": orjson.dumps(body), "headers": {"content-type": "application/json"}}
        reply = await self.exchange("POST", f"{self.base_url}/cgi-bin/stable_token", kwargs)
        reply.text = token_evidence(reply)  # the token itself is never kept as evidence
        return reply

    async def _download(self, src: str) -> bytes:
        """A source image's bytes, through the same guarded client (each redirect hop checked);
        Stop(EDIT) naming the image if it cannot be had, Stop(RETRY) on a network failure."""
        try:
            async with self.client.stream("GET", src, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise Stop(media_problem(src, f"HTTP {response.status_code}"))
                data = b""
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > IMAGE_LIMIT:
                        raise Stop(media_problem(src, "图片超过 10 MB"))
                return data
        except DestinationRefused:
            raise Stop(media_problem(src, "图片地址不允许访问")) from None
        except httpx.HTTPError as error:
            reason = f"下载图片失败：{type(error).__name__}"
            raise Stop(StepResult(Outcome.RETRY, error_code="image_fetch", error=reason)) from None


# pure helpers ---------------------------------------------------------------------------------


async def timed(work: Awaitable[StepResult]) -> StepResult:
    """The step's result (a Stop's result when it ended early), with its duration."""
    started = time.perf_counter()
    try:
        result = await work
    except Stop as stop:
        result = stop.result
    result.duration_ms = int((time.perf_counter() - started) * 1000)
    return result


def pending_images(variant: dict[str, Any], progress: dict[str, Any]) -> list[str]:
    done = progress.get("images") or {}
    return [src for src in variant.get("images") or [] if not done.get(src)]


def draft_article(variant: dict[str, Any], marker: str, progress: dict[str, Any]) -> dict[str, Any]:
    """The draft's article: the variant's fields, images re-hosted, the marker in the link."""
    return {
        "title": variant["title"],
        "author": variant.get("author", ""),
        "digest": variant.get("digest", ""),
        "content": rehost(str(variant.get("content", "")), progress.get("images") or {}),
        "content_source_url": with_marker(str(variant.get("content_source_url", "")), marker),
        "thumb_media_id": progress["thumb_media_id"],
        "need_open_comment": int(variant.get("need_open_comment", 0)),
        "only_fans_can_comment": int(variant.get("only_fans_can_comment", 0)),
    }


def rehost(content: str, images: dict[str, str]) -> str:
    """`content` with each `<img src>` that was re-hosted pointing at its copy."""

    def swap_src(match: re.Match[str]) -> str:
        hosted = images.get(html.unescape(match.group(2)))
        return match.group(0) if not hosted else match.group(1) + html.escape(hosted) + '"'

    return IMG_TAG.sub(lambda tag: SRC_ATTR.sub(swap_src, tag.group(0)), content)


def with_marker(url: str, marker: str) -> str:
    """`url` with `k=<marker>` added to its query (any previous `k` replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != MARKER_PARAM]
    query.append((MARKER_PARAM, marker))
    return urlunsplit(parts._replace(query=urlencode(query)))


def has_marker(url: str, marker: str) -> bool:
    return (MARKER_PARAM, marker) in parse_qsl(urlsplit(url).query)


def marked_item_url(item: dict[str, Any], marker: str) -> str | None:
    """The article URL of a batchget item whose `content_source_url` carries the marker."""
    news = (item.get("content") or {}).get("news_item") or []
    for entry in news:
        if not entry.get("is_deleted") and has_marker(str(entry.get("content_source_url")), marker):
            return str(entry.get("url", ""))
    return None


def first_article_url(data: dict[str, Any]) -> str:
    items = (data.get("article_detail") or {}).get("item") or []
    return str(items[0].get("article_url", "")) if items else ""


def media_part(name: str, data: bytes) -> dict[str, tuple[str, bytes, str]]:
    filename = urlsplit(name).path.rsplit("/", 1)[-1] or "image"
    kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return {"media": (filename, data, kind)}


def reply_of(response: httpx.Response) -> Reply:
    reply = Reply(status=response.status_code, text=response.text[:RESPONSE_LIMIT])
    reply.retry_after = retry_after_header(response.headers.get("retry-after"))
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        reply.data = data
    elif response.status_code == 200:
        reply.error = "平台返回的不是 JSON 对象"
    return reply


def retry_after_header(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def token_of(data: dict[str, Any]) -> Token:
    """Renewed a little before it expires: the platform issues a new stable token only in the
    last stretch of the old one's life, so asking earlier would return the same token."""
    expires_in = float(data.get("expires_in") or 7200)
    margin = min(300.0, expires_in * 0.1)
    return Token(str(data["access_token"]), time.monotonic() + expires_in - margin)


def token_evidence(reply: Reply) -> str:
    if reply.data.get("access_token"):
        return orjson.dumps({"expires_in": reply.data.get("expires_in")}).decode()
    return reply.text


def step_done(reply: Reply, progress: dict[str, Any], stage: str | None = None) -> StepResult:
    return result_of(reply, Outcome.STEP_DONE, progress, stage)


def result_of(
    reply: Reply, outcome: Outcome, progress: dict[str, Any] | None = None, stage: str | None = None
) -> StepResult:
    return StepResult(
        outcome,
        progress or {},
        stage,
        response=reply.text[:RESPONSE_LIMIT],
        status_code=reply.status,
    )


def published(reply: Reply, article_id: str, url: str) -> StepResult:
    result = result_of(reply, Outcome.PUBLISHED, {"article_id": article_id, "article_url": url})
    result.stage, result.post_url, result.platform_post_id = "published", url, article_id
    return result


def status_not_live(status: StepResult) -> StepResult:
    """Retracting a post whose job did not publish: nothing is live (FAILED ends → REMOVED);
    a job still running or an error is answered as is, to be tried again."""
    if status.outcome is Outcome.FAILED:
        status.outcome, status.stage = Outcome.REMOVED, "removed"
    return status


def media_problem(src: str, why: str) -> StepResult:
    return StepResult(Outcome.EDIT, error_code="image", error=f"图片 {src} 无法使用：{why}")


def errored(reply: Reply, outcome: Outcome, code: str, error: str) -> StepResult:
    result = result_of(reply, outcome)
    result.error_code, result.error, result.retry_after = code, error, reply.retry_after
    return result


def classify(reply: Reply, final: bool, what: str = "") -> StepResult:
    """The error class of a failed exchange (see ERROR_CLASSES): network or 5xx trouble is
    RETRY, or UNKNOWN on a final step once the request may have been sent."""
    lost = Outcome.UNKNOWN if final else Outcome.RETRY
    if reply.refused:
        return errored(reply, Outcome.CONFIG, "destination_refused", reply.error)
    if reply.error:
        return errored(reply, lost if reply.sent or reply.status else Outcome.RETRY, "network",
                       reply.error)  # fmt: skip
    if reply.status is not None and reply.status != 200:
        return http_class(reply, lost)
    return errcode_class(reply, what)


def http_class(reply: Reply, lost: Outcome) -> StepResult:
    status = reply.status or 0
    if status >= 500:
        return errored(reply, lost, f"http_{status}", f"平台返回 HTTP {status}")
    if status == 429:
        return errored(reply, Outcome.RETRY, "http_429", "平台限流")
    return errored(
        reply, Outcome.CONFIG, f"http_{status}", f"平台返回 HTTP {status}（地址或配置有误）"
    )


def errcode_class(reply: Reply, what: str) -> StepResult:
    code = reply.errcode
    outcome, why = ERROR_CLASSES.get(code, (Outcome.RETRY, "未归类的平台错误"))
    message = f"{why}（errcode {code}：{reply.data.get('errmsg', '')}）"
    if what and code in (40005, 40006, 40009, 45001):
        message = f"{what}：{message}"
    result = errored(reply, outcome, str(code), message)
    if code == 45011:
        result.retry_after = max(RATE_WAIT, reply.retry_after or 0.0)
    if outcome is Outcome.PARK:
        result.retry_after = seconds_to_midnight(datetime.now(SHANGHAI))
    return result


def seconds_to_midnight(now: datetime) -> float:
    """Seconds until the next 00:00 in Beijing time, when the platform's daily quotas reset."""
    local = now.astimezone(SHANGHAI)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour (the default cover), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(row * height, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# 900×383 is the platform's cover ratio (2.35:1); the hub's blue
DEFAULT_COVER = solid_png(900, 383, (0x1F, 0x4E, 0x8C))


def wechat_adapter(settings: DistributeSettings) -> WechatAdapter:
    """The process's WeChat adapter: the guarded outbound client, the platform's base URL."""
    policy = OutboundPolicy.from_settings(settings)
    client = outbound_client(policy, timeout=httpx.Timeout(settings.channel_timeout_seconds))
    return WechatAdapter(client, settings.wechat_api_url)
