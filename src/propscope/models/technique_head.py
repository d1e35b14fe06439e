"""The technique model's numpy side, shared by training and inference so both compute spans and
span features identically: SI decoding from BIO probabilities, span pooling, hand features and
the small TC head (two dense layers) that classifies a span from the encoder's hidden states."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BIO = ("O", "B", "I")
N_FEATURES = 6


def token_range(offsets: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Tokens [i, j) whose characters overlap [start, end); empty range if none."""
    if len(offsets) == 0:
        return 0, 0
    overlap = (offsets[:, 0] < end) & (offsets[:, 1] > start)
    hits = np.nonzero(overlap)[0]
    if len(hits) == 0:
        return 0, 0
    return int(hits[0]), int(hits[-1]) + 1


def token_ranges(offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """`token_range` of every span, by binary search when the offsets rise (a text's word
    pieces do): one scan of all tokens per span made long documents quadratic."""
    starts, ends = offsets[:, 0], offsets[:, 1]
    if len(offsets) == 0 or not (np.all(starts[1:] >= starts[:-1]) and np.all(ends[1:] >= ends[:-1])):
        return [token_range(offsets, s, e) for s, e in spans]
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    first = np.searchsorted(ends, bounds[:, 0], side="right").tolist()  # first token ending after start
    stop = np.searchsorted(starts, bounds[:, 1], side="left").tolist()  # tokens starting before end
    return [(i, j) if i < j else (0, 0) for i, j in zip(first, stop, strict=True)]


def span_features(text: str, start: int, end: int, lowered: str | None = None) -> np.ndarray:
    """What the winners found the encoder cannot see in a window: is the fragment repeated
    elsewhere in the article (Repetition), how long it is, where it sits, is it the title.

    `lowered` is `text.lower()`, made once per text by callers with many spans."""
    lowered = text.lower() if lowered is None else lowered
    fragment = lowered[start:end].strip()
    count = lowered.count(fragment) if fragment else 0
    earlier = lowered.find(fragment, 0, start) >= 0 if fragment else False  # in lowered[:start]
    first_break = text.find("\n")
    in_title = 1.0 if first_break < 0 or start < first_break else 0.0
    return np.asarray(
        [
            1.0 if count > 1 else 0.0,
            math.log1p(max(count - 1, 0)),
            1.0 if earlier else 0.0,
            math.log1p(end - start) / 6.0,
            start / max(len(text), 1),
            in_title,
        ],
        dtype=np.float32,
    )


def pool(hidden: np.ndarray, i: int, j: int) -> np.ndarray:
    """Span vector: mean, first and last token states (what the TC head was trained on)."""
    if j <= i:
        return np.zeros(3 * hidden.shape[-1], dtype=np.float32)
    piece = hidden[i:j]
    return np.concatenate([piece.mean(axis=0), piece[0], piece[-1]]).astype(np.float32)


def span_inputs(
    text: str, offsets: np.ndarray, hidden: np.ndarray, spans: list[tuple[int, int]]
) -> np.ndarray:
    """TC head inputs for character spans of one document, one row per span."""
    rows, lowered = [], text.lower()
    for (start, end), (i, j) in zip(spans, token_ranges(offsets, spans), strict=True):
        rows.append(np.concatenate([pool(hidden, i, j), span_features(text, start, end, lowered)]))
    width = 3 * hidden.shape[-1] + N_FEATURES
    return np.stack(rows) if rows else np.zeros((0, width), dtype=np.float32)


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))))


class TCHead:
    """Technique classifier over span inputs: dense, GELU, dense; weights in an .npz file."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as weights:
            self.w1, self.b1 = weights["w1"], weights["b1"]
            self.w2, self.b2 = weights["w2"], weights["b2"]
            self.bias = weights["prior"] if "prior" in weights else np.zeros_like(self.b2)

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(n, 14) class probabilities, with the dev-tuned log-prior shift applied."""
        hidden = _gelu(inputs @ self.w1 + self.b1)
        return softmax(hidden @ self.w2 + self.b2 + self.bias)


def _runs(positive: np.ndarray, begins: np.ndarray) -> list[tuple[int, int]]:
    """Token runs [i, j) of positive tokens; a confident B token starts a new run."""
    runs: list[tuple[int, int]] = []
    start = -1
    for k, on in enumerate(positive.tolist()):
        if on and (start < 0 or begins[k]):
            if start >= 0:
                runs.append((start, k))
            start = k
        elif not on and start >= 0:
            runs.append((start, k))
            start = -1
    if start >= 0:
        runs.append((start, len(positive)))
    return runs


APOSTROPHES = "'\u2019"


def _grow_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Spans cover whole words: a word piece boundary is not a fragment boundary, nor is the
    apostrophe in "doesn't" or "Russia's"."""
    while start > 0 and _in_word(text, start - 1) and _in_word(text, start):
        start -= 1
    while end < len(text) and _in_word(text, end) and _in_word(text, end - 1):
        end += 1
    return start, end


def _in_word(text: str, k: int) -> bool:
    if text[k].isalnum():
        return True
    inner = 0 < k < len(text) - 1 and text[k - 1].isalnum() and text[k + 1].isalnum()
    return inner and text[k] in APOSTROPHES


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop whitespace and stray punctuation at the edges (PTC spans never start with either)."""
    edge = " \t\r\n\u00a0.,;:!?-–—"
    while start < end and text[start] in edge:
        start += 1
    while end > start and text[end - 1] in edge:
        end -= 1
    return start, end


def _join(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Fuse runs separated by at most `gap` tokens: one fragment with a weak word inside."""
    joined: list[tuple[int, int]] = []
    for i, j in runs:
        if joined and i - joined[-1][1] <= gap:
            joined[-1] = (joined[-1][0], j)
        else:
            joined.append((i, j))
    return joined


def decode_spans(
    text: str, offsets: np.ndarray, probs: np.ndarray, threshold: float, *, min_chars: int = 2,
    min_score: float = 0.0, join_gap: int = 0,
) -> list[tuple[int, int, float]]:
    """Character spans whose tokens have P(not O) >= threshold, with their mean score.

    Runs at most `join_gap` tokens apart are fused; spans shorter than `min_chars` characters
    or with a mean score under `min_score` are dropped (all three tuned on dev, see config).
    """
    inside = 1.0 - probs[:, 0]
    positive = inside >= threshold
    begins = probs[:, 1] > probs[:, 2]
    spans = []
    for i, j in _join(_runs(positive, begins), join_gap):
        start, end = _grow_to_words(text, int(offsets[i, 0]), int(offsets[j - 1, 1]))
        start, end = trim(text, start, end)
        score = float(inside[i:j].mean())
        if end - start >= min_chars and score >= min_score:
            spans.append((start, end, score))
    return _merge_overlaps(spans)


def _merge_overlaps(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Growing to word edges can make neighbours touch; SI spans must not overlap."""
    merged: list[tuple[int, int, float]] = []
    for start, end, score in sorted(spans):
        if merged and start < merged[-1][1]:
            s, e, sc = merged[-1]
            merged[-1] = (s, max(e, end), max(sc, score))
        else:
            merged.append((start, end, score))
    return merged
