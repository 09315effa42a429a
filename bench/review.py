"""Machine-check throughput (MB/s) next to a bare Aho-Corasick scan of the same corpus.

    .venv/bin/python bench/review.py [--mb 8] [--terms 10000] [--seed 7]

The corpus is generated from Chinese sample texts (`KITCHEN_BENCH_SAMPLES`, a folder of .txt;
by default the test fixtures, or a built-in paragraph), cut into ~3 KB documents and sprinkled
with evasions,
personal data and integrity damage so every check has work. The lexicon holds `--terms` random
2–4 character words over the corpus's own characters (so many of them hit) plus the demo lists.
The bare scan uses one pyahocorasick automaton over the same folded terms on the raw text; the
ratio machine-check / bare is the figure to watch (absolute MB/s drift between machines).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import ahocorasick

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory import own_peak_line  # noqa: E402
from services.review.checks.engine import CheckInput, run_static_checks, text_checks  # noqa: E402
from services.review.checks.lexicon import Entry, LexiconData, Matcher, parse_entries  # noqa: E402
from services.review.checks.metadata import ItemMeta  # noqa: E402
from services.review.checks.normalize import fold_term  # noqa: E402
from services.review.seed import DEMO_LEXICONS  # noqa: E402

# Real text to build the corpus from: a folder of UTF-8 .txt files (default: the test fixtures).
SAMPLES = Path(
    os.environ.get(
        "KITCHEN_BENCH_SAMPLES",
        Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ingest",
    )
)
FALLBACK = "为进一步加强政府网站信息内容建设，提升政府网站的权威性和影响力，现提出以下意见。"
NOISE = ("六 合·彩", "手机13812345678", "身份证11010519491231002X", "發(fā)", "@@", "再接再励")


def base_text() -> str:
    texts = (
        [p.read_text("utf-8") for p in sorted(SAMPLES.glob("*.txt"))] if SAMPLES.exists() else []
    )
    text = "".join(texts) or FALLBACK * 50
    return re.sub(r"@@", "", text)


def corpus(megabytes: float, rng: random.Random) -> list[str]:
    paragraphs = [p.strip() for p in base_text().splitlines() if len(p.strip()) > 10]
    documents, size, target = [], 0, int(megabytes * 1_000_000)
    while size < target:
        doc = "\n".join(rng.choice(paragraphs) for _ in range(12))[:1000]
        if rng.random() < 0.3:
            cut = rng.randrange(len(doc))
            doc = doc[:cut] + rng.choice(NOISE) + doc[cut:]
        documents.append(doc)
        size += len(doc.encode())
    return documents


def lexicon(size: int, alphabet: str, rng: random.Random) -> list[LexiconData]:
    terms: set[str] = set()
    while len(terms) < size:
        term = "".join(rng.choices(alphabet, k=rng.randint(2, 4)))
        if fold_term(term):
            terms.add(term)
    entries = tuple(Entry(term=t) for t in sorted(terms))
    lexicons = [LexiconData("bench", 1, "sensitive", "bench", "block", entries)]
    for spec in DEMO_LEXICONS:
        demo = tuple(parse_entries(spec["kind"], spec["text"]))
        lexicons.append(LexiconData(spec["name"], 1, spec["kind"], spec["category"],
                                    spec["severity"], demo))  # type: ignore[arg-type]  # fmt: skip
    return lexicons


def timed(run: Callable[[], int], repeat: int = 3) -> tuple[float, int]:
    """Best of `repeat` wall-clock runs; returns (seconds, findings)."""
    best, found = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = run()
        best = min(best, time.perf_counter() - start)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0)
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    documents = corpus(args.mb, rng)
    megabytes = sum(len(d.encode()) for d in documents) / 1_000_000
    alphabet = "".join(sorted({c for d in documents for c in d if "\u4e00" <= c <= "\u9fff"}))
    lexicons = lexicon(args.terms, alphabet, rng)

    start = time.perf_counter()
    matcher = Matcher(lexicons)
    build = time.perf_counter() - start

    bare = ahocorasick.Automaton()
    for lex in lexicons:
        for entry in lex.entries:
            folded = fold_term(entry.term)
            bare.add_word(folded, len(folded))
    bare.make_automaton()

    def bare_scan() -> int:
        return sum(1 for d in documents for _ in bare.iter(d))

    def text_only() -> int:
        return sum(len(text_checks(matcher, d, "body_text")) for d in documents)

    meta = ItemMeta("notice", "省人民政府办公厅", None, None, None)
    items = [CheckInput("标题", d, "<p>" + d.replace("\n", "</p><p>") + "</p>", meta)
             for d in documents]  # fmt: skip
    now = datetime.now(UTC)

    def static() -> int:
        return sum(len(run_static_checks(i, matcher, ["gov.cn"], now)) for i in items)

    bare_s, bare_hits = timed(bare_scan)
    text_s, text_hits = timed(text_only)
    all_s, all_hits = timed(static)
    print(f"corpus: {len(documents)} documents, {megabytes:.2f} MB UTF-8; "
          f"lexicon: {matcher.size} folded terms (built in {build * 1000:.0f} ms)")  # fmt: skip
    rows = [
        ("bare Aho-Corasick scan", bare_s, bare_hits),
        ("text checks (fold + lexicons + personal + integrity)", text_s, text_hits),
        ("all static checks (text + HTML + metadata)", all_s, all_hits),
    ]
    for name, seconds, hits in rows:
        print(f"{name:<55} {megabytes / seconds:8.2f} MB/s  {hits:>9} hits")
    print(f"ratio text checks / bare scan:        {bare_s / text_s:.3f}")
    print(f"ratio all static checks / bare scan:  {bare_s / all_s:.3f}")
    print(own_peak_line())


if __name__ == "__main__":
    main()
