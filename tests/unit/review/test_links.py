"""Broken-link checks: HEAD with GET fallback, timeouts, a concurrency limit and a cache."""

from __future__ import annotations

import asyncio

import httpx

from services.review.checks.markup import extract_links
from services.review.clients.links import LinkChecker

HTML = (
    '<a href="http://ok.gov.cn/a">a</a><a href="http://gone.gov.cn/b">b</a>'
    '<a href="http://slow.gov.cn/c">c</a><a href="http://nohead.gov.cn/d">d</a>'
    '<a href="http://gone.gov.cn/b">again</a>'
)


async def test_broken_links_are_reported_per_occurrence_and_cached() -> None:
    in_flight = 0
    peak = 0

    async def web(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            host = request.url.host
            if host == "slow.gov.cn":
                raise httpx.ReadTimeout("timed out", request=request)
            if host == "gone.gov.cn":
                return httpx.Response(404)
            if host == "nohead.gov.cn" and request.method == "HEAD":
                return httpx.Response(405)
            return httpx.Response(200)
        finally:
            in_flight -= 1

    client = httpx.AsyncClient(transport=httpx.MockTransport(web))
    checker = LinkChecker(client, concurrency=2, timeout_seconds=0.5)
    links = extract_links(HTML, "")
    found = await checker.find_broken(links, {"body_html": HTML, "body_text": ""})
    assert [(f.text, f.suggestion) for f in found] == [
        ("http://gone.gov.cn/b", "404"),
        ("http://slow.gov.cn/c", "ReadTimeout"),
        ("http://gone.gov.cn/b", "404"),
    ]
    assert all(HTML[f.start : f.end] == f.text for f in found)
    assert peak <= 2
    sent = checker.requests
    assert sent == 5  # four URLs, one GET fallback; the repeated link is asked once
    await checker.find_broken(links, {"body_html": HTML, "body_text": ""})
    assert checker.requests == sent  # answered from the cache
    await checker.aclose()
