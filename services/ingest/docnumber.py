"""文号 (document numbers) in every real form, reduced to one canonical form.

Real text shows `国办发〔2017〕47号`, `[2015]`, `［2015］`, `(2015)`, `（2015）`, `【2015】`, a
stray space
before the number, and 號 for 号 (`渝府辦發〔2019〕64號`). The canonical form is Simplified with
six-sided brackets and 号: `渝府办发〔2019〕64号`, so the same document cited in either script or
bracket style is one key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.chinese import fold

OPEN = "〔﹝[［(（【"
CLOSE = "〕﹞]］)）】"
# The agency code: up to 10 Chinese characters ending the way codes end (发, 函, 字, 令, 办…),
# directly before the year bracket. Lead-in words are stripped afterwards.
DOC_NUMBER = re.compile(
    rf"([\u4e00-\u9fff]{{1,10}})\s*[{re.escape(OPEN)}]\s*((?:19|20)\d{{2}})\s*[{re.escape(CLOSE)}]"
    r"\s*第?\s*(\d{1,5})\s*[号號]"
)
LEAD_INS = re.compile(
    r"^(?:.*?(?:根据|依据|按照|贯彻|落实|执行|参照|转发|印发|关于|见|和|及|与|或|的|及其|以及|此件|原))+"
)


@dataclass(frozen=True)
class DocNumberMatch:
    canonical: str
    start: int
    end: int
    raw: str


def _agency_code(prefix: str) -> str:
    """Strip words that precede a 文号 in running text (根据国办发… → 国办发)."""
    code = LEAD_INS.sub("", prefix) or prefix
    return code[-8:]


def find_all(text: str) -> list[DocNumberMatch]:
    """Every 文号 in `text`, in order, canonicalised."""
    found = []
    for match in DOC_NUMBER.finditer(text):
        code = fold(_agency_code(match.group(1)))
        canonical = f"{code}〔{match.group(2)}〕{int(match.group(3))}号"
        start = match.end(1) - len(_agency_code(match.group(1)))
        found.append(DocNumberMatch(canonical, start, match.end(), text[start : match.end()]))
    return found


def canonical(value: str | None) -> str | None:
    """The canonical form of a typed 文号; a value that does not parse is kept as typed."""
    if not value:
        return None
    compact = value.strip()
    matches = find_all(compact)
    return matches[0].canonical if matches else compact
