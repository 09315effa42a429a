"""Exact and near-duplicate fingerprints of a document's text.

- `exact_key`: sha256 of the folded title and text with every space and punctuation mark
  removed, so the same document in either script, with other punctuation or line breaks,
  has one key.
- `simhash`: a 64-bit SimHash over character 3-shingles; stored as four 16-bit bands so the
  library finds candidates with an index lookup (any equal band ⇒ Hamming distance ≤ 3 is
  guaranteed to share one, by pigeonhole).
- Candidates are confirmed with the exact Jaccard similarity of their shingle sets against a
  configurable threshold (default 0.8): SimHash narrows, Jaccard decides.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from services.ingest.chinese import fold

SHINGLE = 3
# Short notices differ only in a date or a name; below this many characters only exact
# duplicates (title and text) are one document.
NEAR_MIN_CHARS = 200
BANDS = 4
NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)
_BIT_WEIGHTS = np.array([1 << i for i in range(63, -1, -1)], dtype=np.uint64)


def normalise(text: str) -> str:
    """Folded text with everything but letters, digits and hanzi removed."""
    return normalise_folded(fold(text))


def normalise_folded(folded: str) -> str:
    return NOT_TEXT.sub("", folded).lower()


def exact_key_of(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()


def exact_key(text: str) -> str:
    return exact_key_of(normalise(text))


def shingles(normalised: str) -> set[str]:
    if len(normalised) <= SHINGLE:
        return {normalised} if normalised else set()
    return {normalised[i : i + SHINGLE] for i in range(len(normalised) - SHINGLE + 1)}


def _shingle_hashes(normalised: str) -> np.ndarray:
    """A stable 64-bit hash of every distinct 3-shingle, vectorised (splitmix64 finaliser over
    the three code points) — the per-shingle Python loop it replaces was a third of ingest."""
    points = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(points) < SHINGLE:
        points = np.pad(points, (0, SHINGLE - len(points)))
    with np.errstate(over="ignore"):
        h = (points[:-2] << np.uint64(42)) ^ (points[1:-1] << np.uint64(21)) ^ points[2:]
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    return np.unique(h)


def simhash(normalised: str) -> int:
    """64-bit SimHash of the 3-shingle set (unweighted); 0 for an empty text."""
    if not normalised:
        return 0
    hashes = _shingle_hashes(normalised)
    bits = np.unpackbits(hashes.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1)
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(hashes)
    return int((votes > 0).astype(np.uint64) @ _BIT_WEIGHTS)


def bands(fingerprint: int) -> list[int]:
    """Four 16-bit bands, most significant first (stored in indexed columns)."""
    return [(fingerprint >> (16 * (BANDS - 1 - i))) & 0xFFFF for i in range(BANDS)]


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of the 3-shingle sets of two normalised texts."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def to_signed(value: int) -> int:
    """A 64-bit unsigned fingerprint as a signed BIGINT (what both databases store)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def from_signed(value: int) -> int:
    return value + (1 << 64) if value < 0 else value
