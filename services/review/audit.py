"""The review service's hash-chained, append-only audit trail.

The chain mechanism (canonical encoding, hash-linking, locking the head, verification, anchors,
archives) is `common.audit_chain`; this module binds it to the review tables `audit_entry` and
`audit_head` and keeps the names the review code calls.
"""

from __future__ import annotations

from common.audit_chain import (
    ANCHOR_FORMAT,
    ARCHIVE_FORMAT,
    GENESIS,
    Anchor,
    AuditChain,
    Verification,
    canonical_data,
    canonical_time,
    entry_hash,
    entry_json,
    hash_of,
    load_anchor,
    verify_archive,
)
from services.review.models import AuditEntry, AuditHead

CHAIN: AuditChain[AuditEntry, AuditHead] = AuditChain(AuditEntry, AuditHead)

ensure_head = CHAIN.ensure_head
append = CHAIN.append
current_anchor = CHAIN.current_anchor
verify = CHAIN.verify
history = CHAIN.history
export = CHAIN.export

__all__ = [
    "ANCHOR_FORMAT",
    "ARCHIVE_FORMAT",
    "CHAIN",
    "GENESIS",
    "Anchor",
    "Verification",
    "append",
    "canonical_data",
    "canonical_time",
    "current_anchor",
    "ensure_head",
    "entry_hash",
    "entry_json",
    "export",
    "hash_of",
    "history",
    "load_anchor",
    "verify",
    "verify_archive",
]
