"""Defacement and SEO-spam detection: gambling site names and links hidden from readers.

Detection flags; it never edits. An item with findings is quarantined with the reason and the
suspicious spans, so an editor sees exactly what was injected before anything is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names and phrases of gambling / betting sites seen injected into government pages. A document
# *about* fighting gambling says 赌博 or 网络赌博 — deliberately not in this list.
GAMBLING_TERMS = (
    "投注",
    "博彩",
    "娱乐城",
    "百家乐",
    "真人视讯",
    "真人娱乐",
    "线上赌场",
    "网上赌场",
    "体育投注",
    "彩票平台",
    "棋牌平台",
    "开元棋牌",
    "葡京",
    "威尼斯人",
    "太阳城",
    "皇冠体育",
    "老虎机",
    "时时彩",
    "亚博",
    "bet365",
    "注册送",
    "首存",
)
# "365投注官网", "8888娱乐", "28体育": digits glued to a betting word is a site name.
GAMBLING_SITE = re.compile(r"\d{2,5}[\u4e00-\u9fff]{0,3}(?:投注|娱乐|体育|彩票|棋牌|官网|电竞)")
GAMBLING_TERM = re.compile("|".join(re.escape(t) for t in GAMBLING_TERMS), re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """A suspicious span: `where` is `title`, `text` (offsets into body_text) or `raw`."""

    rule: str
    where: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "where": self.where,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


def gambling_spans(text: str, where: str) -> list[Finding]:
    """Every gambling name or site-name-like span in `text`, merged where they overlap."""
    spans: list[tuple[int, int]] = []
    for pattern in (GAMBLING_TERM, GAMBLING_SITE):
        spans.extend(m.span() for m in pattern.finditer(text))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [Finding("gambling", where, s, e, text[s:e]) for s, e in merged]


def quarantine_reason(findings: list[Finding]) -> str:
    rules = sorted({f.rule for f in findings})
    names = {"gambling": "博彩/赌博网站名称", "hidden_link": "隐藏链接"}
    return "疑似被篡改或植入垃圾信息：" + "、".join(names.get(r, r) for r in rules)
