"""Unified metadata from a cleaned document: 文号, agency, dates, summary, keywords, topic…

Pure functions over text (and jieba words computed once per document by the caller).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from services.ingest import docnumber
from services.ingest.chinese import fold, idf_table

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.json")
SUMMARY_MAX = 100
CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {
    "○": 0,
    "零": 0,
    "Ｏ": 0,
    "O": 0,
}
DATE_ARABIC = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
DATE_CHINESE = re.compile(
    r"([〇○零一二三四五六七八九ＯO]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日"
)
DATE_ISO = re.compile(r"((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})")
AGENCY_SUFFIX = re.compile(
    r"^[\u4e00-\u9fff（）()·]{2,40}(人民政府|办公厅|办公室|委员会|局|厅|部|署|中心|政府|委|办|院|会)$"
)
SALUTATION = re.compile(r"[:：]$")
SENTENCE_END = re.compile(r"(?<=[。！？；])")
DISCLOSURE_MARKS = (
    ("不予公开", "不予公开"),
    ("依申请公开", "依申请公开"),
    ("此件公开发布", "主动公开"),
    ("主动公开", "主动公开"),
)
REPEAL_WORDS = re.compile(r"(同时)?(废止|失效|停止执行)")
AMEND_WORDS = re.compile(r"(修改|修订)")


@dataclass
class Metadata:
    doc_number: str | None
    cites: list[str]
    repeals: list[str]
    amends: list[str]
    agency: str | None
    written_at: date | None
    summary: str
    keywords: list[str]
    topic: str
    disclosure: str
    interprets_title: str | None = None
    dates: list[date] = field(default_factory=list)


def _cn_number(text: str) -> int:
    if "十" not in text:
        return int("".join(str(CN_DIGITS[c]) for c in text))
    tens, _, ones = text.partition("十")
    return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[int, date]]:
    """(offset, date) of every date written as 2015年5月30日, 二〇一五年三月十日 or 2015-05-30."""
    found: list[tuple[int, date | None]] = []
    for m in DATE_ARABIC.finditer(text):
        found.append((m.start(), _safe_date(int(m[1]), int(m[2]), int(m[3]))))
    for m in DATE_CHINESE.finditer(text):
        year = int("".join(str(CN_DIGITS[c]) for c in m[1]))
        found.append((m.start(), _safe_date(year, _cn_number(m[2]), _cn_number(m[3]))))
    for m in DATE_ISO.finditer(text):
        found.append((m.start(), _safe_date(int(m[1]), int(m[2]), int(m[3]))))
    return sorted((at, d) for at, d in found if d is not None)


def signature(lines: list[str]) -> tuple[str | None, date | None]:
    """The issuing agency and date written, from the signature block at the end of a document."""
    agency, written = None, None
    for line in reversed(lines[-6:]):
        line = line.strip().strip("（）() ")
        dates = find_dates(line)
        if dates and written is None and len(line) <= 20:
            written = dates[0][1]
        elif agency is None and AGENCY_SUFFIX.match(fold(line)):
            agency = line
    return agency, written


def own_and_cited(
    text: str, given: str | None
) -> tuple[str | None, list[docnumber.DocNumberMatch]]:
    """The document's own 文号 (typed, or alone on one of the first lines) and the ones it cites."""
    found = docnumber.find_all(text)
    own = docnumber.canonical(given)
    if own is None:
        head = [line.strip() for line in text.split("\n")[:4]]
        for match in found:
            if match.raw.strip() in head:
                own = match.canonical
                break
    return own, [m for m in found if m.canonical != own]


def classify_citations(
    text: str, cited: list[docnumber.DocNumberMatch]
) -> tuple[list[str], list[str], list[str]]:
    """Split cited 文号 into cites / repeals / amends by the words of their sentence."""
    cites: list[str] = []
    repeals: list[str] = []
    amends: list[str] = []
    for match in cited:
        end = text.find("。", match.end)
        sentence = text[match.start : end if end != -1 else len(text)]
        target = (
            repeals
            if REPEAL_WORDS.search(sentence)
            else (amends if AMEND_WORDS.search(sentence[: len(match.raw) + 30]) else cites)
        )
        if match.canonical not in target:
            target.append(match.canonical)
    return cites, repeals, amends


def summarise(text: str) -> str:
    """≤100 characters: whole leading sentences of the body, skipping the salutation line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    body = [line for line in lines if not (SALUTATION.search(line) and len(line) < 80)]
    source = "".join(body[1:] if body and len(body[0]) < 40 and len(body) > 1 else body)
    summary = ""
    for sentence in SENTENCE_END.split(source):
        if len(summary) + len(sentence) > SUMMARY_MAX:
            break
        summary += sentence
    if not summary:
        summary = source[: SUMMARY_MAX - 1] + ("…" if len(source) >= SUMMARY_MAX else "")
    return summary[:SUMMARY_MAX]


def keywords(words: list[str], limit: int = 8) -> list[str]:
    """TF-IDF over the document's jieba words, with jieba's bundled IDF table."""
    idf, median = idf_table()
    counts = Counter(w for w in words if len(w) > 1 and not w.isdigit() and _is_word(w))
    total = sum(counts.values()) or 1
    scored = {w: n / total * idf.get(w, median) for w, n in counts.items()}
    return [w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def _is_word(word: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in word) or word.isalpha()


@lru_cache(maxsize=4)
def load_taxonomy(path: str | None = None) -> dict[str, tuple[str, ...]]:
    raw = json.loads(Path(path or DEFAULT_TAXONOMY).read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in raw.items() if not k.startswith("_")}


def topic_of(words: list[str], title_words: list[str], taxonomy: dict[str, tuple[str, ...]]) -> str:
    """The category whose words occur most (title words count thrice); `其他` when none occur."""
    counts = Counter(words) + Counter({w: 3 * n for w, n in Counter(title_words).items()})
    scores = {cat: sum(counts[w] for w in terms) for cat, terms in taxonomy.items()}
    best = max(scores.items(), key=lambda kv: kv[1], default=("其他", 0))
    return best[0] if best[1] > 0 else "其他"


def disclosure_of(text: str, given: str | None) -> str:
    if given:
        return given
    for mark, value in DISCLOSURE_MARKS:
        if mark in text:
            return value
    return "主动公开"


INTERPRETS = re.compile(r"《([^》]{4,80})》[^。\n]{0,10}(?:政策)?解读")


def interpreted_title(title: str) -> str | None:
    """For a 解读 titled `《关于…的意见》解读` or `关于《…》的政策解读`: the policy's title."""
    match = INTERPRETS.search(title)
    return match.group(1) if match else None


def extract(
    title: str,
    text: str,
    words: list[str],
    title_words: list[str],
    *,
    given_doc_number: str | None = None,
    given_disclosure: str | None = None,
    taxonomy: dict[str, tuple[str, ...]] | None = None,
) -> Metadata:
    """All metadata of one cleaned document."""
    lines = [line for line in text.split("\n") if line.strip()]
    agency, written = signature(lines)
    own, cited = own_and_cited(text, given_doc_number)
    cites, repeals, amends = classify_citations(text, cited)
    dates = [d for _, d in find_dates(text)]
    return Metadata(
        doc_number=own,
        cites=cites,
        repeals=repeals,
        amends=amends,
        agency=agency,
        written_at=written,
        summary=summarise(text),
        keywords=keywords(words),
        topic=topic_of(words, title_words, taxonomy or load_taxonomy()),
        disclosure=disclosure_of(text, given_disclosure),
        interprets_title=interpreted_title(title),
        dates=dates,
    )
