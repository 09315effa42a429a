"""A local server that behaves like the WeChat official-account API, failures included.

`uvicorn kitchen.sandboxes.wechat:create_app --factory` serves it with the demo accounts.
Answers keep the platform's shapes: HTTP 200 with `{"errcode", "errmsg"}` for errors; tokens
from `stable_token` (the same one until shortly before expiry; a forced refresh ends the
previous one at once) or the classic `token` (each call issues a new one, the previous stays
valid five minutes); `uploadimg` re-hosts images (served back under `/mmbiz/`); drafts strip
scripts and images not re-hosted; `freepublish/submit` only accepts a job, which publishes
after `publish_seconds` (read with `freepublish/get`, `batchget`, optionally announced by a
PUBLISHJOBFINISH callback). A submitted draft leaves the draft box here (so a blind resend of
it fails with 40007, and `draft/get` tells a submitted draft from one never sent).

Control (`/_sandbox/…`): POST `faults` {"endpoint": "freepublish/submit", "fault": "busy",
"times": 2, …params}, POST `reset`, GET `state`, POST `config`. Endpoint names are the paths
after `/cgi-bin/` ("stable_token", "media/uploadimg", "draft/add", …) or "*". Faults:
`busy` (-1), `http_500`, `errcode` (params `code`, `msg`), `quota` (45009), `rate_limit`
(45011), `content_risk` (87014), `duplicate` (45065), `token_expired` (every token of every
account stops working now: the call answers 42001), `timeout_after` (the call is done, then
the answer waits `delay` seconds, default 30 — past the client's timeout), `drop_after` (the
call is done, then the connection closes halfway through the answer), and for
`freepublish/submit` only `slow_publish` (`seconds` the job runs) and `publish_end` (`status`
2, 3, 4 or 6 the job ends in). `GET /` is a page of what landed on each account.

Not imitated: IP allow-lists, the 2,000/day classic-token quota, mass send, comment APIs,
images' pixel checks, and the callback's encryption (it is posted as plain XML).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import itertools
import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from kitchen.sandboxes.demo import DEMO_ACCOUNTS
from kitchen.sandboxes.faults import Fault, FaultPlan, control_router

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE_LIMIT = 32
CONTENT_LIMIT = 20_000
CONTENT_BYTES = 1_000_000
IMAGE_BYTES = 1_000_000  # uploadimg: below 1 MB
MATERIAL_BYTES = 10_000_000
CLASSIC_GRACE = 300.0  # seconds the previous classic token keeps working
FORCE_REFRESH_PER_DAY = 20
# errcode faults by name
NAMED_ERRORS: dict[str, tuple[int, str]] = {
    "busy": (-1, "system error"),
    "quota": (45009, "reach max api daily quota limit"),
    "rate_limit": (45011, "api minute-quota reach limit, mustslower retry next minute"),
    "content_risk": (87014, "risky content"),
    "duplicate": (45065, "duplicate content, already sent"),
}
FAULTS = frozenset(NAMED_ERRORS) | {
    "http_500",
    "errcode",
    "token_expired",
    "timeout_after",
    "drop_after",
    "slow_publish",
    "publish_end",
}
SCRIPT = re.compile(r"<(script|style|iframe)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
IMG_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
STATUS_TEXT = {0: "已发布", 1: "发布中", 2: "原创校验未通过", 3: "发布失败", 4: "审核不通过"}
STATUS_TEXT |= {5: "已删除", 6: "已封禁"}


class PlatformError(Exception):
    """Answered as HTTP 200 `{"errcode", "errmsg"}`, like the platform."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ServerFailure(Exception):
    """Answered as HTTP 500."""


@dataclass
class Token:
    value: str
    appid: str
    expires_at: float
    stable: bool


@dataclass
class Job:
    publish_id: str
    appid: str
    articles: list[dict[str, Any]]
    started: float
    seconds: float
    end_status: int
    msg_data_id: str
    article_id: str = ""
    status: int = 1


@dataclass
class Article:
    article_id: str
    appid: str
    publish_id: str
    news_item: list[dict[str, Any]]
    url: str
    published_at: float
    status: int = 0


@dataclass
class Account:
    appid: str
    secret: str
    name: str
    callback_token: str = ""  # signs the account's message pushes (PUBLISHJOBFINISH)
    counts: dict[str, int] = field(default_factory=dict)
    force_refreshes: dict[str, int] = field(default_factory=dict)  # per day (Shanghai)
    stripped_images: int = 0

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


class WechatSandbox:
    """The platform's state: accounts, tokens, media, drafts, publish jobs and articles."""

    def __init__(
        self,
        accounts: list[dict[str, Any]],
        token_expires_in: float = 7200.0,
        publish_seconds: float = 1.0,
        callback_url: str | None = None,
    ) -> None:
        self.account_specs = accounts
        self.token_expires_in = token_expires_in
        self.publish_seconds = publish_seconds
        self.callback_url = callback_url
        self.faults = FaultPlan()
        self.tasks: set[asyncio.Task[None]] = set()
        self.base = "http://127.0.0.1"  # how callers reach us: set from every request
        self.reset()

    def reset(self) -> None:
        self.accounts = {
            spec["credentials"]["appid"]: Account(
                spec["credentials"]["appid"],
                spec["credentials"]["secret"],
                spec.get("name", ""),
                spec["credentials"].get("callback_token", ""),
            )
            for spec in self.account_specs
        }
        self.tokens: dict[str, Token] = {}
        self.images: dict[str, tuple[str, bytes]] = {}  # name → (content type, bytes)
        self.hosted: set[str] = set()  # URLs uploadimg / add_material answered
        self.materials: dict[str, tuple[str, str]] = {}  # media_id → (appid, url)
        self.drafts: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.jobs: dict[str, Job] = {}
        self.articles: dict[str, Article] = {}
        self.ids = itertools.count(1000)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids)}{secrets.token_hex(4)}"

    # tokens ---------------------------------------------------------------------------

    def account(self, appid: str, secret: str) -> Account:
        account = self.accounts.get(appid)
        if account is None:
            raise PlatformError(40013, "invalid appid")
        if not secret or not secrets.compare_digest(secret, account.secret):
            raise PlatformError(40125, "invalid appsecret")
        return account

    def stable_token(self, appid: str, secret: str, force: bool) -> dict[str, Any]:
        """The account's current stable token, a new one when it nears expiry or on force
        (at most 20 forced a day; the previous one keeps working until it expires)."""
        account = self.account(appid, secret)
        account.count("stable_token")
        now = time.time()
        current = self.current_stable(appid, now)
        if force:
            day = datetime.now(SHANGHAI).date().isoformat()
            used = account.force_refreshes.get(day, 0)
            if used >= FORCE_REFRESH_PER_DAY:
                raise PlatformError(45009, "reach max api daily quota limit")
            account.force_refreshes[day] = used + 1
            account.count("force_refresh")
            self.forget_stable(appid)  # forcing ends the previous token at once
            current = None
        if current is None:
            current = self.issue(appid, now, stable=True)
        return {"access_token": current.value, "expires_in": int(current.expires_at - now)}

    def current_stable(self, appid: str, now: float) -> Token | None:
        """The newest stable token while it is not in the last stretch of its life."""
        renew_within = min(300.0, self.token_expires_in * 0.1)
        stable = [t for t in self.tokens.values() if t.appid == appid and t.stable]
        newest = max(stable, key=lambda t: t.expires_at, default=None)
        if newest is not None and newest.expires_at - now > renew_within:
            return newest
        return None

    def forget_stable(self, appid: str) -> None:
        for value in [v for v, t in self.tokens.items() if t.appid == appid and t.stable]:
            del self.tokens[value]

    def classic_token(self, appid: str, secret: str) -> dict[str, Any]:
        """A new token on every call; the account's previous classic ones end in 5 minutes."""
        self.account(appid, secret).count("token")
        now = time.time()
        for token in self.tokens.values():
            if token.appid == appid and not token.stable:
                token.expires_at = min(token.expires_at, now + CLASSIC_GRACE)
        token = self.issue(appid, now, stable=False)
        return {"access_token": token.value, "expires_in": int(self.token_expires_in)}

    def issue(self, appid: str, now: float, stable: bool) -> Token:
        token = Token(secrets.token_urlsafe(24), appid, now + self.token_expires_in, stable)
        self.tokens[token.value] = token
        return token

    def expire_all(self) -> None:
        now = time.time()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now - 1)

    def caller(self, access_token: str) -> Account:
        if not access_token:
            raise PlatformError(41001, "access_token missing")
        token = self.tokens.get(access_token)
        if token is None:
            raise PlatformError(40001, "invalid credential, access_token is invalid or not latest")
        if token.expires_at <= time.time():
            raise PlatformError(42001, "access_token expired")
        return self.accounts[token.appid]

    # media ----------------------------------------------------------------------------

    def host_image(self, data: bytes, base: str, limit: int) -> str:
        kind = image_kind(data)
        if kind is None:
            raise PlatformError(40005, "invalid file type")
        if len(data) >= limit:
            raise PlatformError(40009, "invalid image size")
        name = f"{secrets.token_hex(12)}.{kind}"
        self.images[name] = (f"image/{'jpeg' if kind == 'jpg' else kind}", data)
        url = f"{base}/mmbiz/{name}"
        self.hosted.add(url)
        return url

    def add_material(self, account: Account, kind: str, data: bytes, base: str) -> dict[str, str]:
        if kind not in ("thumb", "image"):
            raise PlatformError(40004, "invalid media type")
        url = self.host_image(data, base, IMAGE_BYTES if kind == "thumb" else MATERIAL_BYTES)
        media_id = self.next_id("MEDIA")
        self.materials[media_id] = (account.appid, url)
        account.count("add_material")
        return {"media_id": media_id, "url": url}

    # drafts and publishing ------------------------------------------------------------

    def add_draft(self, account: Account, body: dict[str, Any]) -> dict[str, str]:
        articles = body.get("articles")
        if not isinstance(articles, list) or not articles:
            raise PlatformError(44002, "empty post data")
        kept = [self.checked_article(account, article) for article in articles]
        media_id = self.next_id("DRAFT")
        self.drafts[media_id] = (account.appid, kept)
        account.count("draft")
        return {"media_id": media_id}

    def checked_article(self, account: Account, article: dict[str, Any]) -> dict[str, Any]:
        title = str(article.get("title") or "")
        content = str(article.get("content") or "")
        if not title or len(title) > TITLE_LIMIT:
            raise PlatformError(45003, "title size out of limit")
        if len(content) >= CONTENT_LIMIT or len(content.encode()) >= CONTENT_BYTES:
            raise PlatformError(45002, "content size out of limit")
        owner = self.materials.get(str(article.get("thumb_media_id") or ""))
        if owner is None or owner[0] != account.appid:
            raise PlatformError(40007, "invalid media_id")
        cleaned, stripped = self.strip(content)
        account.stripped_images += stripped
        return dict(article, content=cleaned)

    def strip(self, content: str) -> tuple[str, int]:
        """Scripts removed, and images not hosted here (the platform drops them)."""
        stripped = 0

        def keep(match: re.Match[str]) -> str:
            nonlocal stripped
            src = IMG_SRC.search(match.group(0))
            if src and src.group(1) in self.hosted:
                return match.group(0)
            stripped += 1
            return ""

        return IMG.sub(keep, SCRIPT.sub("", content)), stripped

    def submit(self, account: Account, media_id: str, fault: Fault | None) -> dict[str, Any]:
        draft = self.drafts.get(media_id)
        if draft is None or draft[0] != account.appid:
            raise PlatformError(40007, "invalid media_id")
        del self.drafts[media_id]  # a submitted draft leaves the draft box
        account.count("submit")
        seconds, end = self.publish_seconds, 0
        if fault is not None and fault.name == "slow_publish":
            seconds = float(fault.param("seconds", 120))
        if fault is not None and fault.name == "publish_end":
            end = int(fault.param("status", 3))
        job = Job(
            self.next_id(""), account.appid, draft[1], time.time(), seconds, end, self.next_id("")
        )
        self.jobs[job.publish_id] = job
        if self.callback_url:
            self.spawn(self.announce_later(job))
        return {"errcode": 0, "errmsg": "ok", "publish_id": job.publish_id,
                "msg_data_id": job.msg_data_id}  # fmt: skip

    def settle(self, job: Job) -> Job:
        """Ends a job whose time has come (published, or its armed end status)."""
        if job.status != 1 or time.time() < job.started + job.seconds:
            return job
        job.status = job.end_status
        if job.end_status == 0:
            article_id = self.next_id("ART")
            self.articles[article_id] = Article(
                article_id, job.appid, job.publish_id, job.articles,
                f"{self.base}/s/{article_id}", time.time(),
            )  # fmt: skip
            job.article_id = article_id
        return job

    def settle_all(self) -> None:
        for job in list(self.jobs.values()):
            self.settle(job)

    def publish_status(self, account: Account, publish_id: str) -> dict[str, Any]:
        job = self.jobs.get(publish_id)
        if job is None or job.appid != account.appid:
            raise PlatformError(53600, "invalid publish_id")
        self.settle(job)
        answer: dict[str, Any] = {"publish_id": job.publish_id, "publish_status": job.status}
        article = self.articles.get(job.article_id)
        if article is not None:
            answer["publish_status"] = article.status
            answer["article_id"] = article.article_id
            answer["article_detail"] = {
                "count": 1,
                "item": [{"idx": 1, "article_url": article.url}],
            }
        if job.status in (2, 3, 4, 6):
            answer["fail_idx"] = [1]
        return answer

    def batchget(self, account: Account, offset: int, count: int) -> dict[str, Any]:
        """The account's published articles, newest first (deleted ones are left out)."""
        self.settle_all()
        live = [a for a in self.articles.values() if a.appid == account.appid and a.status == 0]
        live.sort(key=lambda a: a.published_at, reverse=True)
        page = live[offset : offset + max(1, min(count, 20))]
        return {
            "total_count": len(live),
            "item_count": len(page),
            "item": [
                {
                    "article_id": a.article_id,
                    "content": {
                        "news_item": [dict(n, url=a.url, is_deleted=False) for n in a.news_item],
                        "create_time": int(a.published_at),
                        "update_time": int(a.published_at),
                    },
                    "update_time": int(a.published_at),
                }
                for a in page
            ],
        }

    def delete(self, account: Account, article_id: str) -> dict[str, Any]:
        article = self.articles.get(article_id)
        if article is None or article.appid != account.appid:
            raise PlatformError(53600, "invalid article_id")
        article.status = 5  # deleting a deleted article again is fine
        account.count("delete")
        return {"errcode": 0, "errmsg": "ok"}

    # callback -------------------------------------------------------------------------

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def announce_later(self, job: Job) -> None:
        """PUBLISHJOBFINISH to the callback URL when the job ends (plain XML, best effort)."""
        while self.settle(job).status == 1:  # the loop's clock and the wall clock differ a bit
            await asyncio.sleep(max(0.01, job.started + job.seconds - time.time()))
        if not self.callback_url:
            return
        xml = (
            f"<xml><ToUserName><![CDATA[{job.appid}]]></ToUserName><CreateTime>{int(time.time())}"
            "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]>"
            f"</Event><PublishEventInfo><publish_id>{job.publish_id}</publish_id><publish_status>"
            f"{job.status}</publish_status><article_id><![CDATA[{job.article_id}]]></article_id>"
            "</PublishEventInfo></xml>"
        )
        account = self.accounts.get(job.appid)
        url = self.callback_url.replace("{appid}", job.appid)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                params = signed_query(account.callback_token if account else "")
                await client.post(url, content=xml.encode(), params=params)
        except httpx.HTTPError:
            return

    # control --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Per account: its articles (title, content_source_url, status, url), its jobs and
        counts of calls; tests count exactly-once here."""
        self.settle_all()
        return {
            "accounts": {appid: self.account_state(account)
                         for appid, account in self.accounts.items()},
            "faults_armed": self.faults.armed(),
            "faults_fired": list(self.faults.fired),
        }  # fmt: skip

    def account_state(self, account: Account) -> dict[str, Any]:
        articles = [a for a in self.articles.values() if a.appid == account.appid]
        return {
            "name": account.name,
            "counts": dict(account.counts),
            "stripped_images": account.stripped_images,
            "drafts": sum(1 for d in self.drafts.values() if d[0] == account.appid),
            "jobs": [
                {"publish_id": j.publish_id, "status": j.status, "article_id": j.article_id}
                for j in self.jobs.values()
                if j.appid == account.appid
            ],
            "articles": [article_state(a) for a in articles],
        }


def article_state(article: Article) -> dict[str, Any]:
    first = article.news_item[0] if article.news_item else {}
    return {
        "article_id": article.article_id,
        "publish_id": article.publish_id,
        "title": first.get("title", ""),
        "content_source_url": first.get("content_source_url", ""),
        "thumb_media_id": first.get("thumb_media_id", ""),
        "content": first.get("content", ""),
        "url": article.url,
        "status": article.status,
        "published_at": datetime.fromtimestamp(article.published_at, UTC).isoformat(),
    }


def image_kind(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def demo_accounts() -> list[dict[str, Any]]:
    return [dict(a) for a in DEMO_ACCOUNTS if a["platform"] == "wechat"]


def signed_query(token: str) -> dict[str, str]:
    """The message push's signature (`sha1` of token, timestamp and nonce, sorted, joined);
    empty when the account has no callback token."""
    if not token:
        return {}
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    digest = hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()
    return {"signature": digest, "timestamp": timestamp, "nonce": nonce}


def create_app(
    accounts: list[dict[str, Any]] | None = None,
    token_expires_in: float = 7200.0,
    publish_seconds: float = 1.0,
    callback_url: str | None = None,
) -> FastAPI:
    """The sandbox app (uvicorn `--factory`): `accounts` are dicts with
    `credentials: {appid, secret, callback_token?}` and a `name` (default: the WeChat demo
    accounts). `callback_url` (default `KITCHEN_SANDBOX_WECHAT_CALLBACK_URL`) receives the
    PUBLISHJOBFINISH pushes; `{appid}` in it is replaced by the account's appid."""
    box = WechatSandbox(
        accounts if accounts is not None else demo_accounts(),
        token_expires_in,
        publish_seconds,
        callback_url or os.environ.get("KITCHEN_SANDBOX_WECHAT_CALLBACK_URL") or None,
    )
    app = FastAPI(title="WeChat sandbox")
    app.state.sandbox = box
    app.add_exception_handler(PlatformError, platform_error)
    app.add_exception_handler(ServerFailure, server_failure)
    app.include_router(control_router(box.faults, box.reset, box.state, FAULTS))
    add_token_routes(app, box)
    add_media_routes(app, box)
    add_draft_routes(app, box)
    add_publish_routes(app, box)
    add_pages(app, box)

    @app.middleware("http")
    async def remember_base(request: Request, call_next: Any) -> Response:
        box.base = base_of(request)
        response: Response = await call_next(request)
        return response

    return app


async def platform_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PlatformError)
    return JSONResponse({"errcode": error.code, "errmsg": error.message})


async def server_failure(request: Request, error: Exception) -> Response:
    return JSONResponse({"error": "internal server error"}, status_code=500)


def before(box: WechatSandbox, endpoint: str) -> Fault | None:
    """Applies the endpoint's next armed fault: raises for errors, returns one that acts
    later (`timeout_after`, publish modifiers)."""
    fault = box.faults.take(endpoint)
    if fault is None:
        return None
    if fault.name == "http_500":
        raise ServerFailure()
    if fault.name in NAMED_ERRORS:
        raise PlatformError(*NAMED_ERRORS[fault.name])
    if fault.name == "errcode":
        raise PlatformError(int(fault.param("code", -1)), str(fault.param("msg", "error")))
    if fault.name == "token_expired":
        box.expire_all()
        return None
    return fault


async def after(fault: Fault | None, answer: Any) -> Any:
    """The answer, once the work is done — unless it is held back (`timeout_after`: the client
    times out) or cut off (`drop_after`: the connection closes in the middle of the answer)."""
    if fault is not None and fault.name == "timeout_after":
        await asyncio.sleep(float(fault.param("delay", 30)))
    if fault is not None and fault.name == "drop_after":
        return StreamingResponse(cut_off(), media_type="application/json")
    return answer


async def cut_off() -> AsyncIterator[bytes]:
    yield b'{"errcode": 0, '
    raise ConnectionAbortedError("sandbox fault drop_after: the answer is cut off")


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise PlatformError(47001, "data format error") from error
    if not isinstance(body, dict):
        raise PlatformError(47001, "data format error")
    return body


def add_token_routes(app: FastAPI, box: WechatSandbox) -> None:
    @app.post("/cgi-bin/stable_token")
    async def stable_token(request: Request) -> Any:
        late = before(box, "stable_token")
        body = await json_body(request)
        if body.get("grant_type") != "client_credential":
            raise PlatformError(40002, "invalid grant_type")
        answer = box.stable_token(
            str(body.get("appid", "")), str(body.get("secret", "")), bool(body.get("force_refresh"))
        )
        return await after(late, answer)

    @app.get("/cgi-bin/token")
    async def classic_token(grant_type: str = "", appid: str = "", secret: str = "") -> Any:
        late = before(box, "token")
        if grant_type != "client_credential":
            raise PlatformError(40002, "invalid grant_type")
        answer = box.classic_token(appid, secret)
        return await after(late, answer)


async def upload_bytes(request: Request) -> bytes:
    form = await request.form()
    media = form.get("media")
    if media is None or isinstance(media, str):
        raise PlatformError(41005, "media data missing")
    return await media.read()


def add_media_routes(app: FastAPI, box: WechatSandbox) -> None:
    @app.post("/cgi-bin/media/uploadimg")
    async def uploadimg(request: Request, access_token: str = "") -> Any:
        late = before(box, "media/uploadimg")
        account = box.caller(access_token)
        url = box.host_image(await upload_bytes(request), base_of(request), IMAGE_BYTES)
        account.count("uploadimg")
        return await after(late, {"url": url, "errcode": 0, "errmsg": "ok"})

    @app.post("/cgi-bin/material/add_material")
    async def add_material(request: Request, access_token: str = "", type: str = "") -> Any:
        late = before(box, "material/add_material")
        account = box.caller(access_token)
        answer = box.add_material(account, type, await upload_bytes(request), base_of(request))
        return await after(late, answer)

    @app.get("/mmbiz/{name}")
    async def hosted(name: str) -> Response:
        found = box.images.get(name)
        if found is None:
            return Response(status_code=404)
        return Response(found[1], media_type=found[0])

    @app.get("/_sandbox/sample/{name}")
    async def sample(name: str) -> Response:
        """Pictures for tests and demos: `*.png`, `*.jpg`, `big.png` (over 1 MB), `*.gif`."""
        return Response(sample_image(name), media_type="application/octet-stream")


async def prepared(
    box: WechatSandbox, request: Request, endpoint: str, access_token: str
) -> tuple[Fault | None, Account, dict[str, Any]]:
    """The endpoint's fault applied, the caller's account, the JSON body."""
    late = before(box, endpoint)
    account = box.caller(access_token)
    return late, account, await json_body(request)


def add_draft_routes(app: FastAPI, box: WechatSandbox) -> None:
    async def call(request: Request, endpoint: str, access_token: str) -> tuple[Any, ...]:
        return await prepared(box, request, endpoint, access_token)

    @app.post("/cgi-bin/draft/add")
    async def draft_add(request: Request, access_token: str = "") -> Any:
        late, account, body = await call(request, "draft/add", access_token)
        answer = box.add_draft(account, body)
        return await after(late, answer)

    @app.post("/cgi-bin/draft/get")
    async def draft_get(request: Request, access_token: str = "") -> Any:
        late, account, body = await call(request, "draft/get", access_token)
        draft = box.drafts.get(str(body.get("media_id", "")))
        if draft is None or draft[0] != account.appid:
            raise PlatformError(40007, "invalid media_id")
        return await after(late, {"news_item": draft[1]})


def add_publish_routes(app: FastAPI, box: WechatSandbox) -> None:
    async def call(request: Request, endpoint: str, access_token: str) -> tuple[Any, ...]:
        return await prepared(box, request, endpoint, access_token)

    @app.post("/cgi-bin/freepublish/submit")
    async def submit(request: Request, access_token: str = "") -> Any:
        late, account, body = await call(request, "freepublish/submit", access_token)
        answer = box.submit(account, str(body.get("media_id", "")), late)
        return await after(late, answer)

    @app.post("/cgi-bin/freepublish/get")
    async def get(request: Request, access_token: str = "") -> Any:
        late, account, body = await call(request, "freepublish/get", access_token)
        answer = box.publish_status(account, str(body.get("publish_id", "")))
        return await after(late, answer)

    @app.post("/cgi-bin/freepublish/batchget")
    async def batchget(request: Request, access_token: str = "") -> Any:
        late, account, body = await call(request, "freepublish/batchget", access_token)
        offset, count = int(body.get("offset", 0)), int(body.get("count", 20))
        answer = box.batchget(account, offset, count)
        return await after(late, answer)

    @app.post("/cgi-bin/freepublish/delete")
    async def delete(request: Request, access_token: str = "") -> Any:
        late, account, body = await call(request, "freepublish/delete", access_token)
        answer = box.delete(account, str(body.get("article_id", "")))
        return await after(late, answer)

    @app.post("/_sandbox/config")
    async def config(request: Request) -> dict[str, Any]:
        """Set `token_expires_in`, `publish_seconds`, `callback_url` (applies from now on)."""
        body = await json_body(request)
        for key in ("token_expires_in", "publish_seconds", "callback_url"):
            if key in body:
                setattr(box, key, body[key])
        return {k: getattr(box, k) for k in ("token_expires_in", "publish_seconds", "callback_url")}


def add_pages(app: FastAPI, box: WechatSandbox) -> None:
    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> str:
        box.settle_all()
        return index_page(box)

    @app.get("/s/{article_id}", response_class=HTMLResponse)
    async def article(article_id: str) -> Response:
        found = box.articles.get(article_id)
        if found is None or found.status != 0:
            return HTMLResponse("<p>该内容已被发布者删除</p>", status_code=404)
        first = found.news_item[0]
        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><title>{html.escape(first['title'])}</title>"
            f"<h1>{html.escape(first['title'])}</h1>{first.get('content', '')}"
            f'<p><a href="{html.escape(first.get("content_source_url", ""))}">阅读原文</a></p>'
        )


def index_page(box: WechatSandbox) -> str:
    """What landed on each account, newest first, times in Beijing time."""
    sections = []
    for account in box.accounts.values():
        articles = sorted(
            (a for a in box.articles.values() if a.appid == account.appid),
            key=lambda a: a.published_at,
            reverse=True,
        )
        rows = "".join(article_row(a) for a in articles) or "<tr><td colspan=4>暂无文章</td></tr>"
        running = sum(1 for j in box.jobs.values() if j.appid == account.appid and j.status == 1)
        sections.append(
            f"<h2>{html.escape(account.name or account.appid)}（{html.escape(account.appid)}）</h2>"
            f"<p>提交 {account.counts.get('submit', 0)} 次，发布中 {running} 篇</p>"
            "<table border=1 cellpadding=4><tr><th>标题</th><th>发布时间（北京时间）</th>"
            f"<th>状态</th><th>链接</th></tr>{rows}</table>"
        )
    return (
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>微信公众号沙箱</title>"
        "<h1>微信公众号沙箱：各账号已发布内容</h1>" + "".join(sections) + "</html>"
    )


def article_row(article: Article) -> str:
    first = article.news_item[0] if article.news_item else {}
    when = datetime.fromtimestamp(article.published_at, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"<tr><td>{html.escape(str(first.get('title', '')))}</td><td>{when}</td>"
        f"<td>{STATUS_TEXT.get(article.status, str(article.status))}</td>"
        f'<td><a href="{html.escape(article.url)}">查看</a></td></tr>'
    )


def sample_image(name: str) -> bytes:
    """A small valid PNG or JPEG header-bearing picture; `big.*` is over 1 MB; others are GIF."""
    padding = b"\0" * (1_100_000 if name.startswith("big") else 64)
    if name.endswith(".png"):
        return b"\x89PNG\r\n\x1a\n" + name.encode() + padding
    if name.endswith((".jpg", ".jpeg")):
        return b"\xff\xd8\xff\xe0" + name.encode() + padding
    return b"GIF89a" + name.encode() + padding
