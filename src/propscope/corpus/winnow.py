"""Winnowed fingerprints of word shingles, and what the corpus-wide index of them tells us:
which document pairs may share text (candidates for alignment) and which text is an outlet's
boilerplate.

Winnowing (Schleimer, Wilkerson and Aiken 2003, as in MOSS and passim's seeds): of every
`WINDOW` consecutive 4-word shingles the one with the smallest hash is kept, so any run of
`WINDOW + SHINGLE_WORDS - 1` = 9 words that two texts share yields a fingerprint both keep,
wherever the run sits in its paragraph. About 2/(WINDOW+1) = 29% of positions are kept: ~170
fingerprints of 8 bytes for a 600-word article.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from propscope.corpus._text import SHINGLE_WORDS, gram_hashes

if TYPE_CHECKING:  # index.py stores these fingerprints, so it imports this module
    from propscope.corpus.index import DocMeta

WINDOW = 6  # shingles per winnowing window: a shared run of >= 9 words always has a common seed
# Pairs sharing fewer fingerprints are not aligned: one common 4-word phrase is chance; a copied
# passage of 20+ words with 10% of its words edited still shares 3+ (benchmarks/reuse_planted.py).
MIN_SEEDS = 2
# A fingerprint in more documents than this is a stock phrase, not evidence of copying; it seeds
# nothing (a campaign across more than 64 documents is still found through its rarer shingles).
MAX_DOCUMENTS = 64
# Text in at least BOILERPLATE_DOCUMENTS documents, BOILERPLATE_SHARE of them one outlet's, is that
# outlet's boilerplate (footers, "Share this", bylines): it seeds no alignment and joins no group.
BOILERPLATE_DOCUMENTS = 3
BOILERPLATE_SHARE = 0.9
PAIR_BLOCK = 4_000_000  # pair entries generated at once
PAIR_PARTITION = 40_000_000  # pair entries counted at once (~1 GB with the sort): bounds the memory

U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


def _mix(values: U32) -> U32:
    """MurmurHash3's 32-bit finaliser: winnowing needs hashes whose order looks random."""
    h = values.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def mixed_grams(tokens: list[str]) -> U32:
    """The hash of the 4-word shingle at each word position (the values fingerprints keep)."""
    return _mix(gram_hashes(tokens, SHINGLE_WORDS))


def fingerprints(tokens: list[str]) -> tuple[U32, U32]:
    """(hash, word position) of the shingles winnowing keeps, by position."""
    mixed = mixed_grams(tokens)
    if len(mixed) <= WINDOW:
        picked = np.arange(min(len(mixed), 1), dtype=np.int64) + (int(np.argmin(mixed)) if len(mixed) else 0)
    else:
        windows = np.lib.stride_tricks.sliding_window_view(mixed, WINDOW)
        chosen = windows.argmin(axis=1) + np.arange(len(windows))  # non-decreasing
        picked = chosen[np.r_[True, chosen[1:] != chosen[:-1]]]
    return mixed[picked], picked.astype(np.uint32)


def to_blob(hashes: U32, positions: U32) -> bytes:
    """Hashes then positions, little-endian 32-bit: 8 bytes a fingerprint."""
    return hashes.astype("<u4").tobytes() + positions.astype("<u4").tobytes()


def from_blob(blob: bytes) -> tuple[U32, U32]:
    values = np.frombuffer(blob, dtype="<u4")
    half = len(values) // 2
    return values[:half].astype(np.uint32), values[half:].astype(np.uint32)


@dataclass
class Fingerprints:
    """Every document's fingerprints as flat arrays; `docs[doc[k]]` holds fingerprint k."""

    docs: list[DocMeta]
    hash: U32
    doc: I32  # non-decreasing: a document's fingerprints are contiguous
    pos: U32
    words: I32  # per document: its number of words

    distinct: tuple[U32, I32] | None = field(default=None, repr=False)  # see `_distinct`

    def __post_init__(self) -> None:
        bounds = np.searchsorted(self.doc, np.arange(len(self.docs) + 1, dtype=self.doc.dtype))
        self.bounds: list[int] = bounds.tolist()

    def of(self, doc: int) -> slice:
        """Where document `doc`'s fingerprints lie in the flat arrays."""
        return slice(self.bounds[doc], self.bounds[doc + 1])

    def __len__(self) -> int:
        return len(self.hash)

    @property
    def nbytes(self) -> int:
        return self.hash.nbytes + self.doc.nbytes + self.pos.nbytes + self.words.nbytes


def _outlet_codes(docs: list[DocMeta]) -> I64:
    """An integer per outlet; a document without one is an outlet of its own (no boilerplate)."""
    codes: dict[str, int] = {}
    return np.array(
        [codes.setdefault(d.outlet, len(codes)) if d.outlet else -1 - n for n, d in enumerate(docs)],
        dtype=np.int64,
    )


def _distinct(index: Fingerprints) -> tuple[U32, I32]:
    """(hash, doc) of every fingerprint, each pair once, sorted by hash then doc (computed once:
    boilerplate, stock phrases and candidate pairs all start from it). Sorted in place: at a
    million documents the keys alone are 1 GB."""
    if index.distinct is None:
        key = (index.hash.astype(np.uint64) << np.uint64(32)) | index.doc.astype(np.uint64)
        key.sort()
        key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
        index.distinct = (
            (key >> np.uint64(32)).astype(np.uint32),
            (key & np.uint64(0xFFFFFFFF)).astype(np.int32),
        )
    return index.distinct


def _shared_runs(values: npt.NDArray[Any]) -> tuple[I64, I64]:
    """Start and length of each run of two or more equal values in a sorted array (most values
    are unique, so this is far smaller than all runs)."""
    same = values[1:] == values[:-1]
    if not same.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    begin = np.flatnonzero(same & ~np.r_[False, same[:-1]])
    end = np.flatnonzero(same & ~np.r_[same[1:], False])
    return begin.astype(np.int64), (end - begin + 2).astype(np.int64)


def _runs(values: npt.NDArray[Any]) -> tuple[I64, I64]:
    """Start and length of each run of equal values in a sorted array."""
    if not len(values):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(values[1:] != values[:-1]) + 1].astype(np.int64)
    return starts, np.diff(np.r_[starts, len(values)]).astype(np.int64)


def _members(starts: I64, sizes: I64) -> I64:
    """The positions inside the given runs, run after run."""
    offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + offsets


def contains(values: U32, sorted_set: U32, chunk: int = 4_000_000) -> npt.NDArray[np.bool_]:
    """np.isin for a sorted set, a chunk at a time (np.isin sorts a copy of everything)."""
    found = np.zeros(len(values), dtype=bool)
    if not len(sorted_set):
        return found
    for first in range(0, len(values), chunk):
        part = values[first : first + chunk]
        where = np.minimum(np.searchsorted(sorted_set, part), len(sorted_set) - 1)
        found[first : first + chunk] = sorted_set[where] == part
    return found


def boilerplate_hashes(index: Fingerprints) -> U32:
    """Sorted hashes in BOILERPLATE_DOCUMENTS documents or more, BOILERPLATE_SHARE of them one
    outlet's: that outlet's boilerplate."""
    hashes, doc = _distinct(index)
    starts, sizes = _shared_runs(hashes)
    wide = sizes >= BOILERPLATE_DOCUMENTS
    starts, sizes = starts[wide], sizes[wide]
    if not len(starts):
        return np.zeros(0, np.uint32)
    inside = _members(starts, sizes)
    run = np.repeat(np.arange(len(starts), dtype=np.int64), sizes)
    outlets = _outlet_codes(index.docs)[doc[inside]]
    order = np.lexsort((outlets, run))
    run, outlets = run[order], outlets[order]
    group_starts, group_sizes = _runs(run * np.int64(1 << 32) + (outlets & 0xFFFFFFFF))
    top = np.zeros(len(starts), dtype=np.int64)
    np.maximum.at(top, run[group_starts], group_sizes)
    return np.asarray(hashes[starts][top >= BOILERPLATE_SHARE * sizes], dtype=np.uint32)


def boilerplate(index: Fingerprints) -> npt.NDArray[np.bool_]:
    """Per fingerprint: is it an outlet's boilerplate (see `boilerplate_hashes`)?"""
    return contains(index.hash, boilerplate_hashes(index))


def stock_hashes(index: Fingerprints) -> U32:
    """Fingerprints in more than MAX_DOCUMENTS documents: stock phrases, evidence of nothing."""
    hashes, _ = _distinct(index)
    starts, sizes = _shared_runs(hashes)
    return np.asarray(hashes[starts][sizes > MAX_DOCUMENTS], dtype=np.uint32)


def candidate_pairs(
    index: Fingerprints, boiler: npt.NDArray[np.bool_], new: npt.NDArray[np.bool_] | None = None
) -> I64:
    """Document pairs (a < b, as rows of an (n, 2) array) sharing at least MIN_SEEDS fingerprints.

    Args:
        index: the fingerprints.
        boiler: per fingerprint, True for boilerplate (it seeds nothing).
        new: per document, True for documents not aligned yet; when given, only pairs with at
            least one new document are returned (the others were aligned before).
    """
    hashes, doc = _distinct(index)
    starts, sizes = _shared_runs(hashes)
    # Boilerplate is decided per hash, so its runs go whole.
    useful = (sizes <= MAX_DOCUMENTS) & ~contains(hashes[starts], sorted_unique(index.hash[boiler]))
    starts, sizes = starts[useful], sizes[useful]
    # Pairs are counted a slice of first documents at a time, so at most ~PAIR_PARTITION pair
    # entries (16 bytes each) are held at once, whatever the corpus size.
    entries = int((sizes * (sizes - 1) // 2).sum())
    slices = max(1, -(-entries // PAIR_PARTITION))
    width = len(index.docs)
    found = [_pairs_in(doc, starts, sizes, new, width, part, slices) for part in range(slices)]
    kept = np.concatenate(found) if found else np.zeros(0, np.int64)
    return np.stack([kept // width, kept % width], axis=1)


def _pairs_in(
    doc: I32, starts: I64, sizes: I64, new: npt.NDArray[np.bool_] | None, width: int, part: int, slices: int
) -> I64:
    """Pair keys (a * width + b) with a % slices == part sharing MIN_SEEDS fingerprints or more."""
    keys = np.concatenate(
        list(_pair_keys(doc, starts, sizes, new, width, part, slices)) or [np.zeros(0, np.int64)]
    )
    unique, counts = _count(keys)
    return unique[counts >= MIN_SEEDS]


def _pair_keys(
    doc: I32, starts: I64, sizes: I64, new: npt.NDArray[np.bool_] | None, width: int, part: int, slices: int
) -> Iterator[I64]:
    """a * width + b for every pair of documents under one fingerprint, by run size."""
    for size in np.unique(sizes).tolist():
        first, second = np.triu_indices(size, k=1)
        rows = starts[sizes == size][:, None] + np.arange(size)[None, :]
        members = doc[rows].astype(np.int64)  # (runs, size), sorted within a row
        for chunk in range(0, len(members), max(1, PAIR_BLOCK // len(first))):
            block = members[chunk : chunk + max(1, PAIR_BLOCK // len(first))]
            a, b = block[:, first].ravel(), block[:, second].ravel()
            wanted = a % slices == part if slices > 1 else np.ones(len(a), dtype=bool)
            if new is not None:
                wanted &= new[a] | new[b]
            yield a[wanted] * np.int64(width) + b[wanted]


def sorted_unique(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """np.unique by sorting: numpy 2's hash-based unique is ~10x slower on 64-bit keys."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _count(keys: I64) -> tuple[I64, I64]:
    ordered = np.sort(keys)
    starts, sizes = _runs(ordered)
    return ordered[starts], sizes
