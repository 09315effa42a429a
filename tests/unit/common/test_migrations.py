"""Autogenerate leaves hand-made full-text objects alone and still sees model changes."""

from __future__ import annotations

from common.migrations import include_object


def test_hand_made_full_text_objects_are_not_dropped() -> None:
    assert not include_object(None, "content_fts", "table", True, None)
    assert not include_object(None, "content_fts_data", "table", True, None)
    assert not include_object(None, "tsv", "column", True, None)
    assert not include_object(None, "ix_search_doc_tsv", "index", True, None)
    assert not include_object(None, "ix_search_doc_tsv_block", "index", True, None)


def test_model_objects_and_removed_indexes_are_still_compared() -> None:
    assert include_object(None, "content_item", "table", False, None)
    assert include_object(None, "content_item", "table", True, object())
    assert include_object(None, "ix_content_item_site", "index", True, None)
    assert include_object(None, "old_column", "column", True, None)
