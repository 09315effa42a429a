"""The matrix table itself: well-formed, every name a known principal, every marker explained."""

from __future__ import annotations

import re

from tests.authz import table

MARKERS = {"validation-first", "lookup-first"}


def test_every_row_is_well_formed() -> None:
    rows = table.load()  # unknown principal names raise here
    assert rows
    for operation, row in rows.items():
        assert re.fullmatch(r"(GET|POST|PUT|PATCH|DELETE) /\S+", operation), operation
        assert set(row.raw) <= {"allow", "expected", "note"}, operation
        if row.expected is not None:
            assert row.expected in MARKERS, operation
            assert row.note, f"{operation}: say what really guards it"


def test_anonymous_never_reaches_admin_operations() -> None:
    for operation, row in table.load().items():
        if "anonymous" in row.allow:
            assert not re.search(r"/(users|api-keys|lexicons|review-policies|audit)", operation)


def test_groups_and_compact_spelling_round_trip() -> None:
    names = frozenset(table.NAMES)
    assert table.expand(table.compact(names)) == names
    some = frozenset({"admin", "admin@county", "key:content:read"})
    assert table.compact(some) == ["admin*", "key:content:read"]
    assert table.expand(table.compact(some)) == some
