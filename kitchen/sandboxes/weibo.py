"""A local Weibo: the open API's posting endpoints, its error shapes and codes, and its limits.

`uvicorn --factory kitchen.sandboxes.weibo:create_app` serves the demo Weibo accounts of
`kitchen.sandboxes.demo`. Errors are HTTP 4xx/5xx with `{"request", "error_code", "error"}`.

What it imitates:
- `POST /2/statuses/share.json` (form or multipart): `access_token`, `status`, optional `pic`
  (JPEG/GIF/PNG by content, < 5 MB), optional `rip` (an IP address). A status is at most 140
  characters counting every character as 1 (stricter than the platform, which counts two Latin
  characters as one), must contain a link on the account's safe domain (10017) and no `#topic#`
  (20021: this app may not create topics). The same text again from the account within a day is
  20019; the same text once links are removed, within ten minutes, is 20017 (similar). At most
  `posts_per_hour` posts per account per clock hour (20016) and `app_posts_per_day` per app per
  Beijing day (10022). Answers a status object whose numeric `id` is beyond 2^53 (as real ids
  are too large for JavaScript numbers) with the same id as the string `idstr`.
- `GET /2/statuses/user_timeline.json` (`count` ≤ 100, `page`): the account's live statuses,
  newest first. `POST /2/statuses/destroy.json` (`id`): the deleted status; 20101 when there is
  no such live status, 20102 when it is another account's. `GET /2/account/get_uid.json`.
- Faults (`POST /_sandbox/faults`, endpoint names `statuses/share`, `statuses/user_timeline`,
  `statuses/destroy`, `account/get_uid` or `*`): see `FAULTS`. `POST /_sandbox/reauthorise`
  makes the tokens valid again after `token_expired`; `POST /_sandbox/reset` forgets everything;
  `POST /_sandbox/config` sets `posts_per_hour` / `app_posts_per_day` (load tests).

What it does not: links are not shortened to t.cn (the text keeps the link as posted), no
pictures are kept (only that one came, its type and size), no comments, reposts or topics pages,
no OAuth flow (tokens are the accounts' configured `access_token`).
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import itertools
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from kitchen.sandboxes.demo import DEMO_ACCOUNTS
from kitchen.sandboxes.faults import Fault, FaultPlan, control_router

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
STATUS_LIMIT = 140
PICTURE_LIMIT = 5 * 1024 * 1024
FIRST_ID = 2**53 + 1  # odd ids from here on (ID_STEP is even) cannot be held by a float64
ID_STEP = 10
REPEAT_WINDOW = timedelta(days=1)
SIMILAR_WINDOW = timedelta(minutes=10)
PAGE_MAX = 100
# seconds a held-back answer waits: past the hub's default channel timeout (10 s)
DEFAULT_DELAY = 12.0
_URL = re.compile(r"https?://[^\s\u3000-\u303f\uff00-\uffef]+", re.IGNORECASE)
_TOPIC = re.compile(r"#[^#\s][^#]*#")

# What each error code answers: HTTP status and the platform's (English) message.
ERRORS: dict[int, tuple[int, str]] = {
    10001: (500, "system error"),
    10002: (503, "service unavailable"),
    10008: (400, "param error, see doc for more info"),
    10009: (400, "too many pending tasks, system is busy"),
    10016: (400, "miss required parameter (%s), see doc for more info"),
    10017: (400, "parameter (%s)'s value invalid, domain not bound to this app"),
    10022: (403, "IP requests out of rate limit"),
    10023: (403, "user requests out of rate limit"),
    10024: (403, "user requests for (%s) out of rate limit"),
    20005: (400, "unsupported image type, only support JPG, GIF, PNG"),
    20006: (400, "image size too large"),
    20007: (400, "does multipart has image"),
    20012: (400, "text too long, please input text less than 140 characters"),
    20016: (403, "update weibo too fast"),
    20017: (400, "you have already posted similar content"),
    20019: (400, "repeat content"),
    20021: (400, "content is illegal: this app may not create topics"),
    20101: (400, "target weibo does not exist"),
    20102: (403, "not your own weibo"),
    20111: (400, "repeated weibo text"),
    21327: (401, "expired_token"),
    21332: (401, "invalid_access_token"),
}

# Armable faults (`POST /_sandbox/faults`); parameters in brackets.
FAULTS = frozenset(
    {
        "token_expired",  # this call and every later one: 21327, until reset or reauthorise
        "http_500",  # HTTP 500 with the error body of 10001
        "http_503",  # HTTP 503 with an HTML body, as a load balancer answers
        "system_error",  # 10001
        "busy",  # 10009
        "error",  # [code, status]: any error code of ERRORS
        "rate_limit",  # [code=20016 | 10023, retry_after]: the account's hourly limit
        "quota_exhausted",  # [code=10022 | 10024]: the app's daily cap
        "duplicate",  # [code=20019 | 20017 | 20111]: "already posted", nothing stored
        "timeout_after",  # [delay]: do the work (store the post), answer `delay` s late
        "drop_after",  # do the work, then drop the connection mid-answer
        "http_500_after",  # do the work (store the post), then answer HTTP 500 / 10001
        "stall",  # [delay]: answer 503 `delay` s late, doing nothing
    }
)
TIMING_FAULTS = frozenset({"timeout_after", "drop_after", "http_500_after"})
IMAGE_TYPES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"))


class WeiboError(Exception):
    """An error answer: `code` from ERRORS, `arg` fills its message's `%s`."""

    def __init__(self, code: int, arg: str = "", status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.arg = arg
        self.status = status
        self.headers: dict[str, str] = {}


@dataclass
class Account:
    uid: int
    name: str
    app_id: str
    token: str
    safe_domain: str


@dataclass
class Post:
    id: int
    uid: int
    text: str
    created_at: datetime
    picture: str = ""  # "jpeg", "png" or "gif" when one came
    picture_bytes: int = 0
    deleted_at: datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass
class WeiboState:
    """Accounts, posts, counters; guarded by `lock` (control calls run in a thread pool)."""

    accounts: list[Account]
    posts_per_hour: int
    app_posts_per_day: int
    posts: list[Post] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    expired: bool = False
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(FIRST_ID, ID_STEP))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.posts.clear()
            self.calls.clear()
            self.expired = False
            self.ids = itertools.count(FIRST_ID, ID_STEP)

    def account(self, token: str) -> Account:
        if self.expired:
            raise WeiboError(21327)
        for account in self.accounts:
            if token and account.token == token:
                return account
        raise WeiboError(21332)

    def live(self, uid: int) -> list[Post]:
        return [p for p in self.posts if p.uid == uid and not p.deleted]


def weibo_time(moment: datetime) -> str:
    """The platform's `created_at`: `Wed Dec 02 21:24:31 +0800 2026`, Beijing time."""
    return moment.astimezone(SHANGHAI).strftime("%a %b %d %H:%M:%S %z %Y")


def status_json(post: Post, account: Account) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created_at": weibo_time(post.created_at),
        "id": post.id,
        "idstr": str(post.id),
        "mid": str(post.id),
        "text": post.text,
        "source": '<a href="https://app.weibo.com/" rel="nofollow">政务内容中台</a>',
        "user": {"id": account.uid, "idstr": str(account.uid), "screen_name": account.name},
    }
    if post.picture:
        body["original_pic"] = f"https://wx1.sinaimg.cn/large/{post.id}.{post.picture}"
    return body


def error_response(request: Request, error: WeiboError) -> JSONResponse:
    status, message = ERRORS.get(error.code, (400, "error"))
    if "%s" in message:
        message = message % (error.arg or "?")
    body = {"request": request.url.path, "error_code": error.code, "error": message}
    return JSONResponse(body, status_code=error.status or status, headers=error.headers)


# ---- checks of a share -------------------------------------------------------------------


def host_on(url: str, domain: str) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    domain = domain.rstrip(".").lower()
    return bool(domain) and (host == domain or host.endswith("." + domain))


def check_text(text: str, account: Account) -> None:
    if not text:
        raise WeiboError(10016, "status")
    if len(text) > STATUS_LIMIT:
        raise WeiboError(20012)
    if not any(host_on(url, account.safe_domain) for url in _URL.findall(text)):
        raise WeiboError(10017, "status")
    if _TOPIC.search(text) or "＃" in text:
        raise WeiboError(20021)


def check_repeat(state: WeiboState, account: Account, text: str, now: datetime) -> None:
    teaser = _URL.sub("", text).strip()
    for post in state.live(account.uid):
        if post.text == text and now - post.created_at < REPEAT_WINDOW:
            raise WeiboError(20019)
        similar = _URL.sub("", post.text).strip() == teaser
        if similar and now - post.created_at < SIMILAR_WINDOW:
            raise WeiboError(20017)


def check_limits(state: WeiboState, account: Account, now: datetime) -> None:
    hour = now.replace(minute=0, second=0, microsecond=0)
    mine = [p for p in state.posts if p.uid == account.uid and p.created_at >= hour]
    if len(mine) >= state.posts_per_hour:
        raise WeiboError(20016)
    day = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    apps = {a.uid for a in state.accounts if a.app_id == account.app_id}
    today = [p for p in state.posts if p.uid in apps and p.created_at >= day]
    if len(today) >= state.app_posts_per_day:
        raise WeiboError(10022)


def check_rip(form: FormData) -> None:
    rip = form.get("rip")
    if rip is None:
        return
    try:
        ipaddress.ip_address(str(rip))
    except ValueError:
        raise WeiboError(10008) from None


async def picture_of(form: FormData) -> tuple[str, int]:
    """The uploaded picture's type and size, ("", 0) without one."""
    pic = form.get("pic")
    if pic is None:
        return "", 0
    if not isinstance(pic, UploadFile):
        raise WeiboError(20007)
    data = await pic.read()
    if not data:
        raise WeiboError(20007)
    kind = next((name for magic, name in IMAGE_TYPES if data.startswith(magic)), "")
    if not kind:
        raise WeiboError(20005)
    if len(data) >= PICTURE_LIMIT:
        raise WeiboError(20006)
    return kind, len(data)


# ---- faults --------------------------------------------------------------------------------


def fault_error(fault: Fault) -> WeiboError | None:
    """The error an armed fault answers at once, or None for the faults that change timing."""
    defaults = {
        "http_500": 10001,
        "system_error": 10001,
        "busy": 10009,
        "rate_limit": 20016,
        "quota_exhausted": 10022,
        "duplicate": 20019,
    }
    if fault.name == "error":
        return WeiboError(int(fault.param("code", 10001)), status=fault.param("status"))
    if fault.name not in defaults:
        return None
    error = WeiboError(int(fault.param("code", defaults[fault.name])))
    if fault.name == "http_500":
        error.status = 500
    if fault.param("retry_after") is not None:
        error.headers["Retry-After"] = str(fault.param("retry_after"))
    return error


async def late(fault: Fault | None, answer: dict[str, Any], path: str = "") -> Response:
    """The success answer, as the armed timing fault (if any) delivers it."""
    if fault is not None and fault.name == "timeout_after":
        await asyncio.sleep(float(fault.param("delay", DEFAULT_DELAY)))
    if fault is not None and fault.name == "drop_after":
        return StreamingResponse(dropped(answer), media_type="application/json")
    if fault is not None and fault.name == "http_500_after":
        body = {"request": path, "error_code": 10001, "error": ERRORS[10001][1]}
        return JSONResponse(body, status_code=500)
    return JSONResponse(answer)


async def dropped(answer: dict[str, Any]) -> AsyncIterator[bytes]:
    """Half an answer, then the connection goes (the server aborts the response)."""
    yield b'{"created_at": "'
    raise ConnectionAbortedError("sandbox fault: connection dropped after accepting")


class Sandbox:
    """The handlers, over one `WeiboState` and one `FaultPlan`."""

    def __init__(self, state: WeiboState, plan: FaultPlan) -> None:
        self.state = state
        self.plan = plan

    async def before(self, endpoint: str, request: Request) -> tuple[FormData, Fault | None]:
        """Count the call, read its parameters, apply the next armed fault that answers at once.
        Returns the parameters and a timing fault to apply to the answer (or None)."""
        with self.state.lock:
            self.state.calls[endpoint] = self.state.calls.get(endpoint, 0) + 1
        form = await request.form() if request.method == "POST" else FormData(request.query_params)
        fault = self.plan.take(endpoint)
        if fault is None:
            return form, None
        if fault.name == "token_expired":
            self.state.expired = True
        elif fault.name == "http_503":
            raise UnavailableError()
        elif fault.name == "stall":
            await asyncio.sleep(float(fault.param("delay", DEFAULT_DELAY)))
            raise UnavailableError()
        error = fault_error(fault)
        if error is not None:
            raise error
        return form, fault if fault.name in TIMING_FAULTS else None

    async def share(self, request: Request) -> Response:
        form, timing = await self.before("statuses/share", request)
        account = self.state.account(str(form.get("access_token") or ""))
        text = str(form.get("status") or "")
        check_text(text, account)
        check_rip(form)
        picture, size = await picture_of(form)
        now = datetime.now(UTC)
        with self.state.lock:
            check_repeat(self.state, account, text, now)
            check_limits(self.state, account, now)
            post = Post(next(self.state.ids), account.uid, text, now, picture, size)
            self.state.posts.append(post)
        return await late(timing, status_json(post, account), request.url.path)

    async def timeline(self, request: Request) -> Response:
        form, timing = await self.before("statuses/user_timeline", request)
        account = self.state.account(str(form.get("access_token") or ""))
        count = min(max(int_param(form, "count", 20), 1), PAGE_MAX)
        page = max(int_param(form, "page", 1), 1)
        with self.state.lock:
            posts = sorted(self.state.live(account.uid), key=lambda p: p.id, reverse=True)
        chunk = posts[(page - 1) * count : page * count]
        answer = {
            "statuses": [status_json(p, account) for p in chunk],
            "total_number": len(posts),
        }
        return await late(timing, answer, request.url.path)

    async def destroy(self, request: Request) -> Response:
        form, timing = await self.before("statuses/destroy", request)
        account = self.state.account(str(form.get("access_token") or ""))
        wanted = int_param(form, "id", 0)
        with self.state.lock:
            post = next((p for p in self.state.posts if p.id == wanted and not p.deleted), None)
            if post is None:
                raise WeiboError(20101)
            if post.uid != account.uid:
                raise WeiboError(20102)
            post.deleted_at = datetime.now(UTC)
        return await late(timing, status_json(post, account), request.url.path)

    async def get_uid(self, request: Request) -> Response:
        form, timing = await self.before("account/get_uid", request)
        account = self.state.account(str(form.get("access_token") or ""))
        return await late(timing, {"uid": account.uid}, request.url.path)


class UnavailableError(Exception):
    """HTTP 503 with a load balancer's HTML page."""


def int_param(form: FormData, name: str, default: int) -> int:
    value = form.get(name)
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        raise WeiboError(10008) from None


# ---- state and page --------------------------------------------------------------------


def post_state(post: Post) -> dict[str, Any]:
    return {
        "idstr": str(post.id),
        "text": post.text,
        "pic": bool(post.picture),
        "pic_type": post.picture,
        "pic_bytes": post.picture_bytes,
        "created_at": post.created_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "deleted": post.deleted,
    }


def state_json(state: WeiboState, plan: FaultPlan) -> dict[str, Any]:
    """Per account (by uid) its posts in order and counts; for tests counting exactly-once."""
    with state.lock:
        accounts = {
            str(a.uid): {
                "name": a.name,
                "posts": [post_state(p) for p in state.posts if p.uid == a.uid],
                "live": len(state.live(a.uid)),
                "deleted": sum(1 for p in state.posts if p.uid == a.uid and p.deleted),
            }
            for a in state.accounts
        }
        counts = {
            "posts": len(state.posts),
            "live": sum(1 for p in state.posts if not p.deleted),
            "deleted": sum(1 for p in state.posts if p.deleted),
            "calls": dict(state.calls),
        }
    return {
        "accounts": accounts,
        "counts": counts,
        "expired": state.expired,
        "faults": {"armed": plan.armed(), "fired": list(plan.fired)},
    }


def page_html(state: WeiboState) -> str:
    """`GET /`: what landed on each account, newest first, in Beijing time."""
    sections = []
    with state.lock:
        for account in state.accounts:
            posts = sorted((p for p in state.posts if p.uid == account.uid), key=lambda p: -p.id)
            rows = "".join(post_row(p) for p in posts) or '<tr><td colspan="4">暂无微博</td></tr>'
            sections.append(
                f"<h2>{html.escape(account.name)}（uid {account.uid}，安全域名 "
                f"{html.escape(account.safe_domain)}）</h2>"
                "<table><tr><th>发布时间</th><th>内容</th><th>配图</th><th>状态</th></tr>"
                f"{rows}</table>"
            )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>微博沙箱</title><style>body{font-family:sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        ".deleted{color:#999;text-decoration:line-through}</style></head><body>"
        "<h1>微博沙箱：各账号收到的微博</h1>" + "".join(sections) + "</body></html>"
    )


def post_row(post: Post) -> str:
    when = post.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    status = "已删除" if post.deleted else "已发布"
    css = ' class="deleted"' if post.deleted else ""
    picture = "有" if post.picture else "无"
    return (
        f"<tr{css}><td>{when}</td><td>{html.escape(post.text)}</td><td>{picture}</td>"
        f"<td>{status}</td></tr>"
    )


# ---- the app -------------------------------------------------------------------------------


def accounts_from(entries: list[dict[str, Any]]) -> list[Account]:
    return [
        Account(
            uid=int(entry["platform_account_id"]),
            name=str(entry.get("name", "")),
            app_id=str(entry.get("app_id", "")),
            token=str(entry["credentials"]["access_token"]),
            safe_domain=str(entry.get("safe_domain", "")),
        )
        for entry in entries
        if entry.get("platform", "weibo") == "weibo"
    ]


def create_app(
    accounts: list[dict[str, Any]] | None = None,
    *,
    posts_per_hour: int = 30,
    app_posts_per_day: int = 1000,
) -> FastAPI:
    """The sandbox for `accounts` (entries shaped like `DEMO_ACCOUNTS`; default: its Weibo
    ones). `app.state.weibo` is the `WeiboState`, `app.state.faults` the `FaultPlan`."""
    state = WeiboState(
        accounts_from(DEMO_ACCOUNTS if accounts is None else accounts),
        posts_per_hour,
        app_posts_per_day,
    )
    plan = FaultPlan()
    sandbox = Sandbox(state, plan)
    app = FastAPI(title="微博沙箱", openapi_url=None)
    app.state.weibo = state
    app.state.faults = plan
    app.add_api_route("/2/statuses/share.json", sandbox.share, methods=["POST"])
    app.add_api_route("/2/statuses/user_timeline.json", sandbox.timeline, methods=["GET"])
    app.add_api_route("/2/statuses/destroy.json", sandbox.destroy, methods=["POST"])
    app.add_api_route("/2/account/get_uid.json", sandbox.get_uid, methods=["GET"])
    app.include_router(control_router(plan, state.reset, lambda: state_json(state, plan), FAULTS))

    @app.exception_handler(WeiboError)
    async def weibo_error(request: Request, error: WeiboError) -> JSONResponse:
        return error_response(request, error)

    @app.exception_handler(UnavailableError)
    async def unavailable(request: Request, error: UnavailableError) -> HTMLResponse:
        return HTMLResponse("<html><body><h1>503 Service Unavailable</h1></body></html>", 503)

    @app.post("/_sandbox/reauthorise")
    def reauthorise() -> dict[str, bool]:
        """The accounts authorised again after `token_expired`: their tokens work again."""
        with state.lock:
            state.expired = False
        return {"ok": True}

    @app.post("/_sandbox/config")
    async def config(request: Request) -> dict[str, int]:
        """Set `posts_per_hour` and `app_posts_per_day` (from now on): a load test posts more
        than the platform's real limits allow in an hour."""
        body = await request.json()
        with state.lock:
            for key in ("posts_per_hour", "app_posts_per_day"):
                if isinstance(body, dict) and isinstance(body.get(key), int) and body[key] > 0:
                    setattr(state, key, body[key])
            return {"posts_per_hour": state.posts_per_hour,
                    "app_posts_per_day": state.app_posts_per_day}  # fmt: skip

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return page_html(state)

    return app
