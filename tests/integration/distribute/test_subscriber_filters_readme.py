"""The README's two app-subscriber snippets work as printed: `verify` accepts what distribute
signs (`webhooks.signed_headers`) and refuses tampering and replays; the poller walks the real
change feed with its cursor."""

from __future__ import annotations

import asyncio
import builtins
import re
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.distribute.webhooks import signed_headers
from tests.integration.distribute.conftest import SECRET, Distribute, ingested

README = Path(__file__).parents[3] / "README.md"


def snippets() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## App subscribers") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_verify_accepts_our_signatures_only() -> None:
    verify_code, _ = snippets()
    assert len(verify_code.strip().splitlines()) <= 12
    scope: dict[str, Any] = {}
    exec(verify_code, scope)  # noqa: S102 - the README's own code, run as a reader would
    verify = scope["verify"]
    body = '{"type":"content.published","data":{"title":"关于做好汛期工作的通知"}}'.encode()
    headers = signed_headers(SECRET, "msg_1", body, datetime.now(UTC))
    assert verify(SECRET, headers, body)
    assert not verify(SECRET, headers, body.replace("汛期".encode(), "冬季".encode()))
    assert not verify("whsec_" + "A" * 32, headers, body)
    old = signed_headers(SECRET, "msg_1", body, datetime.now(UTC) - timedelta(minutes=10))
    assert not verify(SECRET, old, body)


class CaughtUp(Exception):
    """Ends the README's endless poller once it has caught up."""


async def test_the_readme_poller_reads_the_filtered_feed_with_its_cursor(
    distribute: Distribute,
) -> None:
    for n in range(3):
        await distribute.publish(ingested(f"n{n}"))  # notices of the province
    await distribute.publish(ingested("p0", kind="policy", columns=["policies"]))
    _, poller = snippets()
    loop = asyncio.get_running_loop()
    asked: list[dict[str, str]] = []

    def get(url: str, params: dict[str, str]) -> httpx.Response:
        asked.append(dict(params))
        path = httpx.URL(url).path
        call = distribute.client.get(path, params={**params, "limit": "2"})
        return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=10)

    def sleep(seconds: float) -> None:
        raise CaughtUp

    stubs = {"httpx": types.SimpleNamespace(get=get), "time": types.SimpleNamespace(sleep=sleep)}

    def imports(name: str, *args: Any, **kwargs: Any) -> Any:
        return stubs[name] if name in stubs else __import__(name, *args, **kwargs)

    printed: list[str] = []
    tools = {
        "__import__": imports,
        "print": lambda *parts: printed.append(" ".join(map(str, parts))),
    }
    scope: dict[str, Any] = {"__builtins__": {**vars(builtins), **tools}}
    with pytest.raises(CaughtUp):
        await asyncio.to_thread(exec, poller, scope)
    assert [line.split()[1:3] for line in printed] == [
        ["published", "n0"],
        ["published", "n1"],
        ["published", "n2"],
    ]
    assert [q["cursor"] for q in asked][0] == "" and len(asked) == 2  # two pages of two
    assert asked[1]["cursor"] != "" and scope["cursor"] != asked[1]["cursor"]
