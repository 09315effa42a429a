"""Security headers on every gateway answer: the console's strict CSP, the docs page's own, none
allowed for API answers, no framing, nosniff, a referrer policy, HSTS only in production."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from gateway.app import CONSOLE
from gateway.security_headers import API_CSP, CONSOLE_CSP, HSTS
from gateway.settings import GatewaySettings
from tests.integration.gateway.serving import answered_by, served_gateway

FILE_CSP = "default-src 'none'; sandbox"


def services(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/api/v1/attachments/"):
        headers = {"content-security-policy": FILE_CSP, "content-disposition": "attachment"}
        return httpx.Response(200, content=b"<html>", headers=headers)
    return httpx.Response(200, json={"items": []})


@asynccontextmanager
async def gateway(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(database_url=database_url, **overrides)
    async with served_gateway(settings, answered_by(services)) as (_, client):
        yield client


def assert_common(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"] or (
        "sandbox" in response.headers["content-security-policy"]
    )


async def test_console_api_and_docs_answers_carry_their_headers(database_url: str) -> None:
    async with gateway(database_url) as client:
        console = await client.get("/console/")
        assert console.status_code == 200 and "工作台" in console.text
        assert console.headers["content-security-policy"] == CONSOLE_CSP
        assert_common(console)
        script = await client.get("/console/console.js")
        assert script.headers["content-security-policy"] == CONSOLE_CSP

        api = await client.get("/api/v1/sites")  # a public JSON read, proxied
        assert api.status_code == 200 and api.json() == {"items": []}
        assert api.headers["content-security-policy"] == API_CSP
        assert_common(api)
        for path in ("/healthz", "/nowhere", "/openapi-gateway.json"):
            answer = await client.get(path)
            assert answer.headers["content-security-policy"] == API_CSP, path
            assert_common(answer)

        served = await client.get("/api/v1/attachments/abc")  # a service's own policy is kept
        assert served.headers["content-security-policy"] == FILE_CSP
        assert_common(served)

        docs = await client.get("/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        policy = docs.headers["content-security-policy"]
        [inline] = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy and "https://cdn.jsdelivr.net" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        assert int(docs.headers["content-length"]) == len(docs.content)
        assert_common(docs)
        assert all("strict-transport-security" not in r.headers for r in (console, api, docs))


async def test_hsts_only_in_production(database_url: str) -> None:
    production = {
        "environment": "production",
        "token_secret": "t" * 48,
        "internal_secret": "i" * 48,
        "data_key": "d" * 48,
    }
    async with gateway(database_url, **production) as client:
        for path in ("/console/", "/api/v1/sites", "/healthz"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == HSTS, path
            assert_common(response)


def test_the_console_needs_no_inline_code() -> None:
    """What the console's CSP forbids is absent: inline scripts, handlers, styles, eval."""
    html = (Path(CONSOLE) / "index.html").read_text()
    script = (Path(CONSOLE) / "console.js").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"\son[a-z]+\s*=", html) == [] and "style=" not in html
    assert "<style" not in html and "javascript:" not in html
    assert "style=" not in script and "eval(" not in script and "new Function" not in script
    assert re.findall(r"\son[a-z]+=[\"']", script) == []
