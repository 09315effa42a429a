"""The search tokens: bigrams of folded hanzi runs, phrases for queries, literals per dialect."""

from __future__ import annotations

from common.search_tokens import Term, query_terms
from services.interaction.search import (
    any_grams,
    fts5_all,
    tokens,
    tsquery_all,
    tsvector_literal,
)


def test_index_tokens_fold_and_keep_the_run_end() -> None:
    assert tokens("學校門口，Bus 12路") == ["学校", "校门", "门口", "口", "bus", "12", "路"]


def test_query_terms_are_phrases_across_runs() -> None:
    assert query_terms("门口，交通  拥") == [
        Term("门口交通", ("门口", "口", "交通"), prefix=False),
        Term("拥", ("拥",), prefix=True),
    ]
    assert query_terms("，。 ") == []


def test_dialect_queries_say_the_same() -> None:
    terms = query_terms("学校门 b")
    assert fts5_all(terms) == '"学校 校门" AND "b"*'
    assert tsquery_all(terms) == "('学校' <-> '校门') & ('b':*)"


def test_tsvector_positions_leave_a_gap_between_fields() -> None:
    assert tsvector_literal([("A", "路灯"), ("D", "灯")]) == "'路灯':1A '灯':2A,4D"


def test_any_grams_are_distinct_and_bounded() -> None:
    assert any_grams("路灯路灯") == ["路灯", "灯路"]
    assert len(any_grams("".join(chr(0x4E00 + i) for i in range(200)))) == 48
