"""Verification of candidate pairs on their text: the alignment work of `find_reuse`, in blocks
that need nothing but a store URL and the hashes that may not seed, so a block can run in this
process or on any machine of a Ray cluster (`distributed.align_on_ray`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from propscope.corpus import align, winnow
from propscope.corpus._text import SHINGLE_WORDS, Shingled
from propscope.corpus.index import fetch_texts
from propscope.store import Store

# Alignments kept in the store: below the reporting threshold too, so a lower --threshold
# needs no re-alignment.
STORED_SIMILARITY = 0.3

Record = list[Any]  # [other id, own w0, w1, other w0, w1, own c0, c1, other c0, c1, matched]
Mask = npt.NDArray[np.bool_]
Hashes = npt.NDArray[np.uint32]
Pair = tuple[str, str]  # (the document the alignment is stored with, the other one)


@dataclass(frozen=True)
class Engine:
    """Where candidate pairs are aligned: "local" (this process) or "ray" (tasks on a Ray cluster
    at `address`, None for one started on this machine; at most `workers` blocks at a time)."""

    name: str = "local"
    address: str | None = None
    workers: int | None = None


ENGINES = ("local", "ray")


def skipped_words(tokens: Shingled, hashes: Hashes) -> Mask:
    """True for each word near a 4-word shingle whose hash is in `hashes` (sorted).

    Winnowing keeps one shingle in every WINDOW of a repeated text, so hits closer than that are
    one stretch, and a stretch may begin or end up to WINDOW - 1 shingles beyond its outermost
    hits: those words are masked too (at worst 5 words of the text around it).
    """
    mask = np.zeros(len(tokens.tokens), dtype=bool)
    hits = np.flatnonzero(np.isin(winnow.mixed_grams(tokens.tokens), hashes))
    if not len(hits):
        return mask
    reach = winnow.WINDOW - 1
    breaks = np.flatnonzero(np.diff(hits) > winnow.WINDOW) + 1
    for run in np.split(hits, breaks):
        mask[max(int(run[0]) - reach, 0) : int(run[-1]) + SHINGLE_WORDS + reach] = True
    return mask


def align_block(store: Store, block: Sequence[Pair], hashes: Hashes) -> list[tuple[str, Record]]:
    """(owner id, record) for every alignment of the block's pairs at STORED_SIMILARITY or more."""
    wanted = sorted({doc_id for pair in block for doc_id in pair})
    tokens: dict[str, tuple[Shingled, Mask]] = {}
    for doc_id, text in fetch_texts(store, wanted):
        shingled = Shingled(text, align.ANCHOR_WORDS)
        tokens[doc_id] = (shingled, skipped_words(shingled, hashes))
    found: list[tuple[str, Record]] = []
    for owner, other in block:
        if owner in tokens and other in tokens:  # both still stored
            found.extend((owner, record) for record in _records(tokens[owner], tokens[other], other))
    return found


def _records(mine: tuple[Shingled, Mask], theirs: tuple[Shingled, Mask], other_id: str) -> Iterator[Record]:
    """The records of one pair's alignments, seen from the first document."""
    (a, skip_a), (b, skip_b) = mine, theirs
    for hit in align.align(a, b, skip_a, skip_b):
        if hit.similarity >= STORED_SIMILARITY:
            yield [
                other_id,
                hit.a_start,
                hit.a_end,
                hit.b_start,
                hit.b_end,
                int(a.starts[hit.a_start]),
                int(a.ends[hit.a_end - 1]),
                int(b.starts[hit.b_start]),
                int(b.ends[hit.b_end - 1]),
                hit.matched,
            ]
