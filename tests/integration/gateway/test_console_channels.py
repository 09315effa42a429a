"""The console's new-media part is served with the console: the accounts tab, its script (which
calls distribute's /api/v1/channels paths through the gateway) and the review preview."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.test_gateway import gateway  # noqa: F401  (fixture)


async def test_the_console_serves_the_accounts_tab_and_its_script(
    gateway: httpx.AsyncClient,  # noqa: F811
) -> None:
    page = await gateway.get("/console/")
    assert 'data-view="channels-view"' in page.text and "新媒体账号" in page.text
    assert '<script src="/console/console-channels.js"></script>' in page.text
    script = await gateway.get("/console/console-channels.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for path in ("/api/v1/channels/accounts", "/api/v1/channels/previews/"):
        assert path in script.text
    assert "新媒体账号备案" in script.text and "Idempotency-Key" in script.text


CONSOLE = Path(__file__).parents[3] / "gateway" / "console"
RUNNER = Path(__file__).with_suffix(".js")  # the stub DOM and the clicks


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_accounts_tab_registers_closes_and_the_review_shows_the_preview() -> None:
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(RUNNER), str(CONSOLE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    first, closed = seen["rows"]
    assert "四川发布&lt;公众号&gt;" in first and "<公众号>" not in first  # names are escaped
    assert "正常" in first and "已注销" in closed and "并号" in closed
    assert seen["buttons"] == ["suspended", "closed"]  # a closed account has no actions
    assert 'name="cred_appid"' in seen["credentialsWechat"]
    assert 'name="cred_access_token"' in seen["credentialsWeibo"]
    assert "cred_appid" not in seen["credentialsWeibo"]

    weibo, wechat, wechat_again, weibo_again = seen["registrations"]
    assert weibo["body"] == {
        "platform": "weibo",
        "name": "四川发布微博",
        "platform_account_id": "5000000001",
        "app_id": "weibodemoapp",
        "unit": "省政府办公厅",
        "safe_domain": "gov.cn",
        "sites": ["province", "city"],
        "default_columns": ["province/news"],
        "credentials": {"access_token": "tok"},
    }
    assert wechat["body"]["credentials"] == {"appid": "wx", "secret": "s"}
    assert wechat["key"] == wechat_again["key"]  # a double click is one registration
    assert len({weibo["key"], wechat["key"], weibo_again["key"]}) == 3

    assert seen["closing"] == [
        {
            "path": "/api/v1/channels/accounts/acc1/status",
            "body": {"status": "closed", "reason": "单位撤并"},
        }
    ]
    assert "不可恢复" in seen["prompts"][0]

    assert seen["previewPath"] == "/api/v1/channels/previews/c1/2"
    preview = seen["preview"]
    assert preview is not None and seen["beforeComment"]  # shown before the sign-off
    assert "微信公众号" in preview and "微博" in preview and "0123456789ab" in preview
    assert '<mark class="block">标题不能超过 32 个字</mark>' in preview
    assert "标题&lt;script&gt;" in preview and "<script>" not in preview
    assert "新媒体账号不存在（acc9）" in preview and "不会发出" in preview


def test_the_channels_script_needs_no_inline_code() -> None:
    """What the console's CSP forbids is absent from the script too."""
    script = (CONSOLE / "console-channels.js").read_text(encoding="utf-8")
    assert "style=" not in script and "eval(" not in script and "new Function" not in script
    assert "javascript:" not in script and "onclick" not in script
