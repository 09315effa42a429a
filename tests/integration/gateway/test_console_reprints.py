"""The console's 转载联动 tab, run under Node against a stub DOM: a lower site's editors see what
they owe with its deadline in Beijing time (a breach marked, names escaped), accept or decline a
proposal (the reason typed), and read the reprint clock per site and unit."""

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
def test_the_reprints_tab_lists_answers_and_reports() -> None:
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(RUNNER), str(CONSOLE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    [row] = seen["rows"]
    assert "成都市&lt;人民政府&gt;" in row and "<人民政府>" not in row
    assert "2026/12/4 22:00:00" in row and "已超时" in row and "待确认" in row
    posted = [(c["path"], c.get("body")) for c in seen["calls"] if c["method"] == "POST"]
    assert posted == [
        ("/api/v1/reprints/ob1/accept", None),
        ("/api/v1/reprints/ob1/decline", '{"reason":"本站已有同类内容"}'),
    ]
    assert "<td>成都市人民政府</td><td>3</td>" in seen["report"].replace("\n", "").replace(
        "      ", ""
    )


async def test_the_console_serves_the_reprints_tab(
    gateway: httpx.AsyncClient,  # noqa: F811
) -> None:
    page = await gateway.get("/console/")
    assert 'data-view="reprints-view"' in page.text and "转载联动" in page.text
    script = await gateway.get("/console/console-reprints.js")
    assert script.status_code == 200 and "/api/v1/reprints/report" in script.text
    assert "style=" not in script.text and "onclick" not in script.text
