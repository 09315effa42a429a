"""The console's 定时发布 tab, run under Node against a stub DOM: schedules are listed in Beijing
time with their titles escaped, 改期 and 取消定时 send the whole schedule to the library, and the
submit form's times carry the +08:00 offset the API requires."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.test_gateway import gateway  # noqa: F401  (fixture)

CONSOLE = Path(__file__).parents[3] / "gateway" / "console"
RUNNER = Path(__file__).with_suffix(".js")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_schedules_tab_lists_moves_and_cancels() -> None:
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(RUNNER), str(CONSOLE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    [row] = seen["rows"]
    assert "关于&lt;春节&gt;放假的通知" in row and "<春节>" not in row
    assert "2026/12/5 09:00:00" in row and "等待中" in row  # 01:00 UTC is 09:00 in Beijing
    puts = [c for c in seen["calls"] if c["method"] == "PUT"]
    assert [c["path"] for c in puts] == ["/api/v1/contents/c1/schedule"] * 2
    moved, cancelled = (json.loads(c["body"]) for c in puts)
    assert moved == {
        "publish_at": "2026-12-06T10:30:00+08:00",
        "embargo_until": None,
        "expire_at": "2027-01-05T01:00:00Z",
    }
    assert cancelled["publish_at"] is None and cancelled["expire_at"] == "2027-01-05T01:00:00Z"
    [submitted] = [c for c in seen["calls"] if c["path"] == "/api/v1/contents"]
    body = json.loads(submitted["body"])
    assert body["publish_at"] == "2026-12-05T09:00:00+08:00" and "expire_at" not in body


async def test_the_console_serves_the_schedules_tab(
    gateway: httpx.AsyncClient,  # noqa: F811
) -> None:
    page = await gateway.get("/console/")
    assert 'data-view="schedules-view"' in page.text and "定时发布" in page.text
    assert '<script src="/console/console-schedules.js"></script>' in page.text
    script = await gateway.get("/console/console-schedules.js")
    assert script.status_code == 200 and "/api/v1/schedules" in script.text
    assert "style=" not in script.text and "onclick" not in script.text
