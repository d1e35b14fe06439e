"""Local alignment of two documents' word sequences: which spans of one reuse text of the other.

Seed and extend, as BLAST and passim do. Seeds are exact runs of at least `ANCHOR_WORDS` words
found in both texts (case, punctuation and quote styles never count: words are lower-cased `\\w+`
tokens). Runs are then chained by a Smith-Waterman recurrence over the runs instead of over single
words (sparse local alignment): a chain gains a point per matched word and pays for the words it
skips on either side between two runs, so a substituted word, a dropped or added word, a sentence
added or removed, or two sentences swapped cost a little and the passage stays one alignment,
while text that merely shares a phrase never gathers enough matched words. Paragraphs and line
breaks play no part: a copy merged into a neighbour's paragraph, or scraped without line breaks,
aligns the same. Several disjoint alignments can come out of one pair (two passages copied).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from propscope.corpus._text import Shingled

ANCHOR_WORDS = 3  # a shared 3-word run is a seed; single shared words are everywhere
# Chaining costs, per the copies of the planted benchmark (benchmarks/reuse_planted.py): a
# substituted word costs GAP_OPEN + 2 * GAP_WORD = 2 against the ~9 matched words that separate
# two edits at a 10% edit rate; an inserted 25-word sentence costs 13.5 against the passage
# around it. A gap longer than MAX_GAP words on either side ends the alignment.
GAP_OPEN = 1.0
GAP_WORD = 0.5
MAX_GAP = 40
MIN_MATCHED = 15  # matched words of a reported alignment: below, shared phrases and names match
MAX_REPEATS = 4  # a 3-word run seen more often in one text (a refrain, a list) seeds nothing

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Alignment:
    """Word spans [a_start, a_end) and [b_start, b_end) that align, with `matched` words in runs."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    matched: int

    @property
    def similarity(self) -> float:
        """Matched words over the longer of the two spans (1.0: the same words in both)."""
        return self.matched / max(self.a_end - self.a_start, self.b_end - self.b_start)


@dataclass(frozen=True, slots=True)
class _Run:
    i0: int
    i1: int
    j0: int
    j1: int


def align(
    a: Shingled, b: Shingled, skip_a: Mask | None = None, skip_b: Mask | None = None
) -> list[Alignment]:
    """The local alignments of two tokenised texts with at least MIN_MATCHED matched words.

    Args:
        a, b: the texts, tokenised with `Shingled(text, ANCHOR_WORDS)`.
        skip_a, skip_b: per word, True where the text may not seed an alignment (an outlet's
            boilerplate): a run that touches such a word is not a seed.

    Returns:
        Disjoint alignments, best first.
    """
    runs = _runs(*_anchors(a, b, skip_a, skip_b))
    found: list[Alignment] = []
    while runs:
        chain = _best_chain(runs)
        if chain is None:
            break
        found.append(chain)
        runs = [r for r in runs if not _touches(r, chain)]
    return found


def _gram_skip(tokens: Shingled, skip: Mask | None) -> Mask:
    """Per seed position: does the run of ANCHOR_WORDS words starting there touch a skipped word?"""
    count = len(tokens.grams)
    if skip is None or not skip.any():
        return np.zeros(count, dtype=bool)
    hit = np.zeros(count, dtype=bool)
    for offset in range(tokens.size):
        hit |= skip[offset : offset + count]
    return hit


def _anchors(a: Shingled, b: Shingled, skip_a: Mask | None, skip_b: Mask | None) -> tuple[Ints, Ints]:
    """All (i, j) where the 3-word runs at word i of a and word j of b are equal."""
    ga, gb = a.grams, b.grams
    if len(a.tokens) < ANCHOR_WORDS or len(b.tokens) < ANCHOR_WORDS:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ua, ca = np.unique(ga, return_counts=True)
    ub, cb = np.unique(gb, return_counts=True)
    common = np.intersect1d(ua[ca <= MAX_REPEATS], ub[cb <= MAX_REPEATS], assume_unique=True)
    ia = np.flatnonzero(np.isin(ga, common) & ~_gram_skip(a, skip_a))
    ib = np.flatnonzero(np.isin(gb, common) & ~_gram_skip(b, skip_b))
    ib = ib[np.argsort(gb[ib], kind="stable")]
    sorted_b = gb[ib]
    low = np.searchsorted(sorted_b, ga[ia], "left")
    counts = np.searchsorted(sorted_b, ga[ia], "right") - low
    i = np.repeat(ia, counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    j = ib[np.repeat(low, counts) + offsets]
    return i.astype(np.int64), j.astype(np.int64)


def _runs(i: Ints, j: Ints) -> list[_Run]:
    """Anchors on one diagonal at consecutive words joined into maximal exact runs."""
    if not len(i):
        return []
    diagonal = j - i
    order = np.lexsort((i, diagonal))
    i, diagonal = i[order], diagonal[order]
    breaks = np.flatnonzero((np.diff(diagonal) != 0) | (np.diff(i) != 1)) + 1
    starts, ends = np.r_[0, breaks], np.r_[breaks, len(i)] - 1
    runs = [
        _Run(
            int(i[s]),
            int(i[e]) + ANCHOR_WORDS,
            int(i[s] + diagonal[s]),
            int(i[e] + diagonal[e]) + ANCHOR_WORDS,
        )
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    runs.sort(key=lambda r: (r.i0, r.j0))
    return runs


def _step(p: _Run, q: _Run) -> tuple[int, float] | None:
    """Extending a chain that ends with run p by run q: (words q adds, cost of the gap), if allowed."""
    trim = max(0, p.i1 - q.i0, p.j1 - q.j0)  # q may overlap p by a word or two: count those once
    gained = (q.i1 - q.i0) - trim
    if gained < 1:
        return None
    skip_i, skip_j = q.i0 + trim - p.i1, q.j0 + trim - p.j1
    if skip_i > MAX_GAP or skip_j > MAX_GAP:
        return None
    return gained, (GAP_OPEN + GAP_WORD * (skip_i + skip_j)) if skip_i or skip_j else 0.0


def _best_chain(runs: list[_Run]) -> Alignment | None:
    """The highest-scoring chain of runs (local: a chain may start at any run), as an alignment."""
    longest = max(r.i1 - r.i0 for r in runs)
    score = [0.0] * len(runs)
    matched = [0] * len(runs)
    back = [-1] * len(runs)
    for q, run in enumerate(runs):
        score[q], matched[q] = float(run.i1 - run.i0), run.i1 - run.i0
        for p in range(q - 1, -1, -1):
            prior = runs[p]
            if prior.i0 < run.i0 - MAX_GAP - longest:
                break
            step = _step(prior, run)
            if step is not None and score[p] + step[0] - step[1] > score[q]:
                score[q], matched[q], back[q] = score[p] + step[0] - step[1], matched[p] + step[0], p
    end = max(range(len(runs)), key=lambda q: (score[q], -q))
    first = end
    while back[first] >= 0:
        first = back[first]
    if matched[end] < MIN_MATCHED:
        return None
    head, tail = runs[first], runs[end]
    return Alignment(head.i0, tail.i1, head.j0, tail.j1, matched[end])


def _touches(run: _Run, chain: Alignment) -> bool:
    """Does the run overlap the chain's span in either text (it cannot seed a second alignment)?"""
    return (run.i0 < chain.a_end and run.i1 > chain.a_start) or (
        run.j0 < chain.b_end and run.j1 > chain.b_start
    )
