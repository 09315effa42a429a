"""The shared audit chain's canonical hashing, archives and anchors (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from common.audit_chain import (
    ARCHIVE_FORMAT,
    GENESIS,
    Anchor,
    canonical_data,
    canonical_time,
    entry_hash,
    load_anchor,
    verify_archive,
)

AT = datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))


def test_entry_hash_is_the_one_existing_chains_were_written_with() -> None:
    data = canonical_data({"stage": "初审", "b": [1, 2]})
    assert data == '{"b":[1,2],"stage":"初审"}'
    digest = entry_hash(7, AT, "reviewer1", "decision.approve", "c-1", data, "ab" * 32)
    # Computed by the review service's chain before the mechanism moved to common.
    assert digest == "92e7fd7f17e0373538b8490c3558cb5dca1200120a077a7ec4a38cfdaa9aaf53"


def test_one_spelling_per_instant() -> None:
    naive_utc = datetime(2026, 3, 1, 0, 30, 0, 123456)  # how SQLite hands it back
    assert canonical_time(AT) == canonical_time(naive_utc) == "2026-03-01T00:30:00.123456Z"
    assert entry_hash(1, AT, "a", "b", "c", "{}", GENESIS) == entry_hash(
        1, naive_utc, "a", "b", "c", "{}", GENESIS
    )


def write_archive(path: Path, count: int) -> list[dict[str, object]]:
    entries, prev = [], GENESIS
    for seq in range(1, count + 1):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=seq)
        data = canonical_data({"n": seq})
        digest = entry_hash(seq, at, "cli:root", "user.created", f"user:u{seq}", data, prev)
        entries.append(
            {
                "seq": seq,
                "at": canonical_time(at),
                "actor": "cli:root",
                "action": "user.created",
                "subject": f"user:u{seq}",
                "data": orjson.loads(data),
                "data_canonical": data,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    header = {
        "format": ARCHIVE_FORMAT,
        "from_seq": 1,
        "to_seq": count,
        "prev_hash": GENESIS,
        "chain_head": {"seq": count, "hash": prev},
        "entries": count,
    }
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in [header, *entries]) + b"\n")
    return entries


def test_an_archive_verifies_and_a_changed_line_is_named(tmp_path: Path) -> None:
    archive = tmp_path / "audit.jsonl"
    entries = write_archive(archive, 3)
    result = verify_archive(archive)
    assert result.ok and result.checked == 3
    assert load_anchor(archive) == Anchor(3, str(entries[-1]["hash"]))

    lines = archive.read_bytes().splitlines()
    forged = {**entries[1], "data_canonical": canonical_data({"n": 99})}
    lines[2] = orjson.dumps(forged)
    archive.write_bytes(b"\n".join(lines) + b"\n")
    broken = verify_archive(archive)
    assert not broken.ok and broken.first_bad_seq == 2
    assert broken.reason == "entry content does not match its hash"


def test_an_anchor_file_must_hold_a_chain_head(tmp_path: Path) -> None:
    good = tmp_path / "head.json"
    good.write_bytes(orjson.dumps(Anchor(4, "c" * 64).as_dict()))
    assert load_anchor(good) == Anchor(4, "c" * 64)
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"seq": 4, "hash": "not-hex"}))
    with pytest.raises(ValueError, match="no chain head"):
        load_anchor(bad)
