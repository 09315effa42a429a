"""An item's Weibo rendition: a short teaser that ends with the link to its portal page.

The posted status is `teaser + " " + marked_link(link, marker)`: the adapter adds our marker as
the query parameter `k=<marker>` (the marker is how a lost post is found again on the account's
timeline). The renderer budgets for it, so every status stays within `STATUS_LIMIT`.

Counting rule: every character (Unicode code point) counts 1, Chinese or Latin, link included.
Weibo itself counts two Latin characters as one and a link as a short link, so it never counts
more than we do: a status we accept is never too long for the platform.

Topics and mentions: on Weibo a `#…#` pair becomes a topic link and `@name` a mention. A
government post must do neither by accident, so `#` (and the full-width `＃`) are removed from the
teaser, and `@` is replaced by the full-width `＠`, which the platform does not read as a mention.
The link is rebuilt without a fragment, so no `#` appears anywhere in the status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from services.distribute.channels.contract import Finding, Rendered
from services.distribute.models import ContentSnapshot
from services.distribute.pagetags import first_image

PLATFORM = "weibo"
STATUS_LIMIT = 140  # characters of a whole status, link and marker included
MARKER_MAX = 12  # characters of the marker the adapter adds
MARKER_PARAM = "k"
# the marked link may add "?k=" or "&k=" plus the marker to the article URL
MARKER_RESERVE = len("?" + MARKER_PARAM + "=") + MARKER_MAX
SEPARATOR = " "  # between the teaser and the link
ELLIPSIS = "…"
SENTENCE_ENDS = "。！？；!?;"
MIN_SUMMARY = 8  # fewer characters of summary than this say nothing: the title stands alone
_CLEAN = str.maketrans({"#": None, "＃": None, "@": "＠"})


def teaser_budget(article_url: str) -> int:
    """How many characters the teaser may have next to this link and the longest marker."""
    return STATUS_LIMIT - len(SEPARATOR) - len(article_url) - MARKER_RESERVE


def marked_link(link: str, marker: str) -> str:
    """The link with `k=<marker>` added to its query (and no fragment)."""
    if not marker or len(marker) > MARKER_MAX:
        raise ValueError(f"a Weibo marker has 1 to {MARKER_MAX} characters")
    parts = urlsplit(link)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"{query}k={marker}", ""))


def status_text(body: dict[str, Any], marker: str) -> str:
    """The status posted for a rendition `body`: teaser, a space, the marked link."""
    return f"{body['teaser']}{SEPARATOR}{marked_link(str(body['link']), marker)}"


def clean(text: str) -> str:
    """One line, no topic or mention markup (see the module docstring)."""
    return " ".join(text.translate(_CLEAN).split())


def cut(text: str, room: int) -> str:
    """`text` if it fits in `room` characters, else its longest start that ends a sentence,
    else its first `room - 1` characters and "…"."""
    if len(text) <= room:
        return text
    head = text[:room]
    end = max(head.rfind(mark) for mark in SENTENCE_ENDS)
    if end + 1 >= MIN_SUMMARY:
        return head[: end + 1]
    return text[: room - 1].rstrip() + ELLIPSIS


def headline(title: str, room: int) -> str | None:
    """The title as `【title】`, or bare when the brackets do not fit; None if it cannot fit."""
    for form in (f"【{title}】", title):
        if len(form) <= room:
            return form
    return None


def teaser_of(title: str, summary: str, room: int) -> str | None:
    """The title, then as much of the summary as fits; None when not even the title fits."""
    if not title:
        return cut(summary, room)
    head = headline(title, room)
    if head is None:
        return None
    left = room - len(head)
    if not summary or summary == title or left < MIN_SUMMARY:
        return head
    return head + cut(summary, left)


def picture_of(snapshot: ContentSnapshot, article_url: str) -> str | None:
    """The first in-article image as an absolute http(s) URL, or None."""
    src = first_image(snapshot.body_html)
    if not src:
        return None
    url = urljoin(article_url, src)
    return url if urlsplit(url).scheme in ("http", "https") else None


def render_weibo(snapshot: ContentSnapshot, article_url: str) -> Rendered:
    """The Weibo rendition of `snapshot` linking to `article_url` (pure). Body: `teaser` (the
    text without the link), `link` (`article_url`), `picture` (first in-article image or None).
    Findings: `no_text` (no title and no text), `teaser_cannot_fit` (not even the title fits
    next to the link: the editor must shorten it)."""
    title = clean(snapshot.title)
    summary = clean(snapshot.summary or snapshot.body_text)
    body: dict[str, Any] = {
        "teaser": "",
        "link": article_url,
        "picture": picture_of(snapshot, article_url),
    }
    if not title and not summary:
        finding = Finding("title", "no_text", "稿件没有标题和正文，无法生成微博内容")
        return Rendered(PLATFORM, body, (finding,))
    room = teaser_budget(article_url)
    teaser = teaser_of(title, summary, room) if room > 0 else None
    if teaser is None:
        finding = Finding(
            "title",
            "teaser_cannot_fit",
            f"标题连同文章链接超过微博 {STATUS_LIMIT} 字上限（标题最多 {max(room, 0)} 字），"
            "请缩短标题",
        )
        return Rendered(PLATFORM, body, (finding,))
    body["teaser"] = teaser
    return Rendered(PLATFORM, body)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return ""
    return (parts.hostname or "").rstrip(".").lower()


def link_finding(safe_domain: str, article_url: str) -> Finding | None:
    """None when the link's host is the account's registered safe domain or a subdomain of it
    (Weibo refuses a status whose link is elsewhere), else `link_not_on_safe_domain`."""
    safe = safe_domain.strip().rstrip(".").lower()
    host = host_of(article_url)
    if safe and host and (host == safe or host.endswith("." + safe)):
        return None
    return Finding(
        "link",
        "link_not_on_safe_domain",
        f"文章链接 {article_url} 不在该微博账号登记的安全域名 {safe_domain or '（未登记）'} 下",
    )
