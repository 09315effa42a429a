"""The console's new-media part is served with the console: the accounts tab, its script (which
calls distribute's /api/v1/channels paths through the gateway) and the review preview."""

from __future__ import annotations

import httpx

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
