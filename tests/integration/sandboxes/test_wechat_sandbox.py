"""The WeChat sandbox itself over HTTP: the platform's shapes, limits and armed faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from kitchen.sandboxes.wechat import FORCE_REFRESH_PER_DAY
from tests.fixtures.sandbox_wechat import WechatSandbox

APPID, SECRET = "wxdemo0000000001", "demo-wechat-secret-1"


class Api:
    def __init__(self, sandbox: WechatSandbox) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.base_url, timeout=5)
        self.token = self.stable()["access_token"]

    def stable(self, force: bool = False, secret: str = SECRET, appid: str = APPID) -> Any:
        body = {"grant_type": "client_credential", "appid": appid, "secret": secret,
                "force_refresh": force}  # fmt: skip
        return self.http.post("/cgi-bin/stable_token", json=body).json()

    def post(self, path: str, token: str | None = None, **options: Any) -> Any:
        params = dict(options.pop("params", {})) | {"access_token": token or self.token}
        return self.http.post(f"/cgi-bin/{path}", params=params, **options).json()

    def upload(self, name: str, path: str = "media/uploadimg", **params: Any) -> Any:
        data = self.http.get(f"/_sandbox/sample/{name}").content
        return self.post(path, files={"media": (name, data)}, params=params)

    def draft(self, **article: Any) -> Any:
        thumb = self.upload("c.png", "material/add_material", type="thumb")["media_id"]
        values = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": thumb,
                  "content_source_url": "https://www.sc.gov.cn/a.html?k=m1"}  # fmt: skip
        return self.post("draft/add", json={"articles": [values | article]})

    def published(self, **article: Any) -> str:
        """Drafts, submits and waits for the job: the article id."""
        publish_id = self.post("freepublish/submit", json=self.draft(**article))["publish_id"]
        for _ in range(50):
            status = self.post("freepublish/get", json={"publish_id": publish_id})
            if status["publish_status"] != 1:
                return str(status["article_id"])
            time.sleep(0.05)
        raise AssertionError("the job never ended")


@pytest.fixture
def api(sandbox_wechat: WechatSandbox) -> Iterator[Api]:
    made = Api(sandbox_wechat)
    yield made
    made.http.close()


def test_stable_token_is_the_same_until_forced_and_forcing_is_limited(api: Api) -> None:
    assert api.stable()["access_token"] == api.token
    assert api.stable(secret="wrong")["errcode"] == 40125
    assert api.stable(appid="wxnobody")["errcode"] == 40013
    forced = api.stable(force=True)["access_token"]
    assert forced != api.token and api.stable()["access_token"] == forced
    assert api.post("freepublish/batchget", json={})["errcode"] == 40001  # the old one is gone
    for _ in range(FORCE_REFRESH_PER_DAY - 1):
        assert "access_token" in api.stable(force=True)
    assert api.stable(force=True)["errcode"] == 45009
    assert api.sandbox.account(APPID)["counts"]["force_refresh"] == FORCE_REFRESH_PER_DAY


def test_tokens_are_checked_on_every_call_and_expire(api: Api) -> None:
    assert api.post("freepublish/batchget", token="nonsense", json={})["errcode"] == 40001
    assert api.http.post("/cgi-bin/draft/add", json={}).json()["errcode"] == 41001
    api.sandbox.configure(token_expires_in=1)
    short = api.stable(force=True)
    assert short["expires_in"] <= 1
    time.sleep(1.05)
    assert (
        api.post("freepublish/batchget", token=short["access_token"], json={})["errcode"] == 42001
    )
    classic = [
        api.http.get("/cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID,
                                               "secret": SECRET}).json()["access_token"]
        for _ in range(2)
    ]  # fmt: skip
    assert classic[0] != classic[1]


def test_uploadimg_takes_jpg_and_png_under_1_mb_and_serves_them_back(api: Api) -> None:
    assert api.upload("a.gif")["errcode"] == 40005
    assert api.upload("big.png")["errcode"] == 40009
    hosted = api.upload("a.jpg")["url"]
    served = api.http.get(hosted)
    assert (
        served.status_code == 200
        and served.content == api.http.get("/_sandbox/sample/a.jpg").content
    )


def test_a_draft_is_validated_and_loses_scripts_and_foreign_images(api: Api) -> None:
    assert api.draft(title="字" * 33)["errcode"] == 45003
    assert api.draft(content="x" * 20_000)["errcode"] == 45002
    assert api.draft(thumb_media_id="MEDIAnone")["errcode"] == 40007
    hosted = api.upload("a.png")["url"]
    content = (
        f'<p>正文</p><img src="{hosted}"><img src="https://evil.example/x.png"><script>x()</script>'
    )
    api.published(content=content)
    [article] = api.sandbox.account(APPID)["articles"]
    assert article["content"] == f'<p>正文</p><img src="{hosted}">'
    assert api.sandbox.account(APPID)["stripped_images"] == 1


def test_a_submit_publishes_later_and_a_draft_goes_out_once(api: Api) -> None:
    draft = api.draft()
    submitted = api.post("freepublish/submit", json=draft)
    assert submitted["errcode"] == 0 and submitted["publish_id"] and submitted["msg_data_id"]
    status = api.post("freepublish/get", json={"publish_id": submitted["publish_id"]})
    assert status["publish_status"] == 1  # accepted, still publishing
    assert api.post("freepublish/submit", json=draft)["errcode"] == 40007
    time.sleep(0.35)
    status = api.post("freepublish/get", json={"publish_id": submitted["publish_id"]})
    assert status["publish_status"] == 0
    assert status["article_detail"]["item"][0]["article_url"].endswith(status["article_id"])


def test_batchget_pages_newest_first_and_delete_takes_an_article_down(api: Api) -> None:
    api.sandbox.configure(publish_seconds=0)
    ids = [
        api.published(title=f"第{n}篇", content_source_url=f"https://a/?k=m{n}") for n in range(3)
    ]
    page = api.post("freepublish/batchget", json={"offset": 1, "count": 1})
    assert page["total_count"] == 3 and page["item_count"] == 1
    [item] = page["item"]
    assert item["article_id"] == ids[1]
    assert item["content"]["news_item"][0]["content_source_url"] == "https://a/?k=m1"
    assert api.post("freepublish/delete", json={"article_id": ids[0], "index": 0})["errcode"] == 0
    assert api.post("freepublish/batchget", json={"offset": 0, "count": 20})["total_count"] == 2
    job = api.sandbox.account(APPID)["articles"][0]["publish_id"]
    assert api.post("freepublish/get", json={"publish_id": job})["publish_status"] == 5


@pytest.mark.parametrize("status", [2, 3, 4, 6])
def test_an_armed_job_ends_in_failure(api: Api, status: int) -> None:
    api.sandbox.configure(publish_seconds=0)
    api.sandbox.arm("freepublish/submit", "publish_end", status=status)
    publish_id = api.post("freepublish/submit", json=api.draft())["publish_id"]
    answer = api.post("freepublish/get", json={"publish_id": publish_id})
    assert answer["publish_status"] == status and answer["fail_idx"] == [1]
    assert api.sandbox.account(APPID)["articles"] == []


def test_faults_are_taken_as_armed(api: Api) -> None:
    api.sandbox.arm("freepublish/batchget", "busy", times=2)
    api.sandbox.arm("freepublish/batchget", "http_500")
    answers = [api.http.post("/cgi-bin/freepublish/batchget", params={"access_token": api.token},
                             json={}) for _ in range(4)]  # fmt: skip
    assert [a.json().get("errcode") for a in answers[:2]] == [-1, -1]
    assert answers[2].status_code == 500 and answers[3].json()["total_count"] == 0
    refused = api.http.post("/_sandbox/faults", json={"endpoint": "x", "fault": "nonsense"})
    assert refused.status_code == 422
    api.sandbox.arm("*", "errcode", code=48001, msg="api unauthorized")
    assert api.post("draft/add", json={})["errcode"] == 48001


class Hook(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's interface)
        Hook.received.append(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_a_finished_job_is_announced_to_the_callback(api: Api) -> None:
    Hook.received.clear()
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api.sandbox.configure(callback_url=f"http://127.0.0.1:{server.server_port}/wx")
        publish_id = api.post("freepublish/submit", json=api.draft())["publish_id"]
        for _ in range(40):
            if Hook.received:
                break
            time.sleep(0.05)
        [event] = Hook.received
        assert b"PUBLISHJOBFINISH" in event and publish_id.encode() in event
        assert b"<publish_status>0</publish_status>" in event
    finally:
        server.shutdown()


def test_the_page_shows_what_landed_in_beijing_time(api: Api) -> None:
    api.sandbox.configure(publish_seconds=0)
    api.published(title="省政府常务会议召开")
    page = api.http.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "四川发布" in page.text and "省政府常务会议召开" in page.text and "已发布" in page.text
    assert "北京时间" in page.text and "成都发布" in page.text
