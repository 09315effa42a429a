"""Stored files cannot run in the gateway's origin: HTML (and anything not known to be safe) is a
download, safe images/PDF/plain text are inline, every file answer has nosniff and a sandboxing
CSP."""

from __future__ import annotations

import httpx
import orjson
import pytest

from services.ingest.routes.attachments import FILE_CSP, file_headers
from tests.integration.ingest.helpers import EDITOR, traditional

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
HTML = b"<html><body><script>fetch('/api/v1/api-keys',{method:'POST'})</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


async def upload(client: httpx.AsyncClient, files: list[tuple[str, bytes]]) -> dict[str, str]:
    """filename → sha256 of the stored attachments."""
    parts = [("attachments", (name, data, "image/png")) for name, data in files]
    data = {"submission": orjson.dumps(traditional()).decode()}
    response = await client.post("/api/v1/contents", data=data, files=parts, headers=EDITOR)
    assert response.status_code == 202, response.text
    item = (await client.get(f"/api/v1/contents/{response.json()['id']}", headers=EDITOR)).json()
    return {a["filename"]: a["sha256"] for a in item["attachments"]}


async def test_html_is_a_sandboxed_download_and_images_are_inline(
    ingest_client: httpx.AsyncClient,
) -> None:
    stored = await upload(
        ingest_client,
        [("通知.html", HTML), ("图片.png", PNG), ("图.webp", WEBP), ("图标.svg", SVG)],
    )

    async def served(name: str) -> httpx.Response:
        response = await ingest_client.get(f"/api/v1/attachments/{stored[name]}", headers=EDITOR)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
        return response

    html = await served("通知.html")
    assert html.content == HTML and html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith("attachment;")
    png = await served("图片.png")
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"].startswith("inline;")
    webp = await served("图.webp")
    assert webp.headers["content-type"] == "image/webp"
    assert webp.headers["content-disposition"].startswith("inline;")
    svg = await served("图标.svg")  # never image/svg+xml: it would run its script
    assert svg.headers["content-type"].startswith("text/plain")
    # a revalidation answers with the same protections
    again = await ingest_client.get(
        f"/api/v1/attachments/{stored['通知.html']}",
        headers={**EDITOR, "If-None-Match": f'"{stored["通知.html"]}"'},
    )
    assert again.status_code == 304 and again.headers["content-security-policy"] == FILE_CSP


async def test_raw_input_is_served_as_a_sandboxed_file(ingest_client: httpx.AsyncClient) -> None:
    created = await ingest_client.post("/api/v1/contents", json=traditional(), headers=EDITOR)
    assert created.status_code == 202, created.text
    raw = await ingest_client.get(
        f"/api/v1/contents/{created.json()['id']}/versions/1/raw", headers=EDITOR
    )
    assert raw.status_code == 200 and raw.headers["x-content-type-options"] == "nosniff"
    assert raw.headers["content-security-policy"] == FILE_CSP
    assert raw.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("media_type", "disposition"),
    [
        ("text/html; charset=utf-8", "attachment"),
        ("TEXT/HTML", "attachment"),
        ("image/svg+xml", "attachment"),
        ("application/xhtml+xml", "attachment"),
        ("application/octet-stream", "attachment"),
        ("application/msword", "attachment"),
        ("image/png", "inline"),
        ("image/jpeg", "inline"),
        ("image/gif", "inline"),
        ("image/webp", "inline"),
        ("application/pdf", "inline"),
        ("text/plain; charset=utf-8", "inline"),
    ],
)
def test_only_safe_types_are_inline(media_type: str, disposition: str) -> None:
    headers = file_headers(media_type, "附件 1.bin")
    assert (
        headers["Content-Disposition"]
        == f"{disposition}; filename*=UTF-8''%E9%99%84%E4%BB%B6%201.bin"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == FILE_CSP
