"""The console's 撤稿 panel, run under Node against a stub DOM: a published item shows the
button, a click posts the reason to the retraction route, and the outlets table shows each
outlet's state and the platform's answer (escaped)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).parents[3] / "gateway" / "console"
RUNNER = Path(__file__).with_suffix(".js")  # the stub DOM and the clicks


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_retract_button_posts_the_reason_and_shows_each_outlet() -> None:
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(RUNNER), str(CONSOLE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    panel = seen["before"]
    assert '<button id="retract-button">撤稿</button>' in panel and not seen["hidden"]
    assert "已发布" in panel and "撤下失败" in panel and "HTTP 400" in panel
    assert "四川发布&lt;微博&gt;" in panel and "<微博>" not in panel  # names are escaped
    posted = [c for c in seen["calls"] if c["method"] == "POST"]
    assert posted == [
        {
            "path": "/api/v1/contents/c1/retraction",
            "method": "POST",
            "body": '{"reason":"数据有误"}',
        }
    ]
    assert seen["status"] == "已撤稿"


def test_the_retract_script_needs_no_inline_code() -> None:
    """What the console's CSP forbids is absent from the script too."""
    script = (CONSOLE / "console-retract.js").read_text(encoding="utf-8")
    assert "style=" not in script and "eval(" not in script and "new Function" not in script
    assert "javascript:" not in script and "onclick" not in script
