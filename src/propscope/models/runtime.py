"""ONNX Runtime inference shared by the bundled models: tokenise with exact character offsets,
cut any-length text into overlapping windows, batch windows across documents, and stitch the
per-token outputs back into one array per document.

Only onnxruntime, tokenizers and numpy are imported here, so the plain install needs no torch.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

CLS_ID = 101  # BERT uncased vocabulary ids (MiniLM); other vocabularies: special_ids()
SEP_ID = 102
PAD_ID = 0


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text's word pieces: ids and end-exclusive character offsets (Python `str` indices)."""

    ids: np.ndarray  # (n,) int64
    offsets: np.ndarray  # (n, 2) int64

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, slots=True)
class SpecialIds:
    """The ids a window is wrapped in and padded with: [CLS]/[SEP]/[PAD] in BERT's vocabulary
    (MiniLM), <s>/</s>/<pad> in MPNet's and RoBERTa's."""

    cls: int
    sep: int
    pad: int


def special_ids(tokenizer: Tokenizer) -> SpecialIds:
    """The tokenizer's own special ids. `<s>` is looked up first: MPNet's vocabulary also has
    a `[CLS]` entry, but as an ordinary word piece the model never saw in that role."""
    for names in (("<s>", "</s>", "<pad>"), ("[CLS]", "[SEP]", "[PAD]")):
        found = [tokenizer.token_to_id(name) for name in names]
        if all(i is not None for i in found):
            return SpecialIds(*(int(i) for i in found if i is not None))
    return SpecialIds(CLS_ID, SEP_ID, PAD_ID)


@cache
def load_tokenizer(path: str) -> Tokenizer:
    """A tokenizer with truncation and padding off: windows are cut by us, not by it."""
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def tokenize(tokenizer: Tokenizer, text: str) -> Tokens:
    """Word pieces of the whole text without special tokens; offsets index `text` exactly."""
    encoding = tokenizer.encode(text, add_special_tokens=False)
    ids = np.asarray(encoding.ids, dtype=np.int64)
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    return Tokens(ids, offsets)


def window_starts(n_tokens: int, size: int, stride: int) -> list[int]:
    """Start indices of windows of `size` tokens every `stride` tokens, the last one flush
    with the end, so every token is seen and no window is needlessly short."""
    if n_tokens <= size:
        return [0]
    starts = list(range(0, n_tokens - size, stride))
    starts.append(n_tokens - size)
    return starts


def line_windows(tokens: Tokens, text: str, size: int, cut_long: bool = True) -> list[tuple[int, int]]:
    """Token ranges of at most `size` tokens that start and end on line breaks where possible.

    A PTC span almost never crosses a line, so packing whole lines cuts few of them. A line
    longer than `size` is cut into consecutive pieces (training), or with `cut_long=False`
    kept whole in a range of its own, for the caller to cover with overlapping windows.
    """
    offsets = tokens.offsets
    n = len(offsets)
    breaks = [k for k in range(1, n) if "\n" in text[offsets[k - 1, 1] : offsets[k, 0]]]
    breaks.append(n)
    windows, start, last = [], 0, 0
    for b in breaks:
        if b - start > size and last > start:
            windows.append((start, last))
            start = last
        while cut_long and b - start > size:
            windows.append((start, start + size))
            start += size
        if b - start > size:
            windows.append((start, b))
            start = b
        last = b
    if n > start or not windows:
        windows.append((start, n))
    return windows


def window_owner(n_tokens: int, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """For each token, the window in which it sits farthest from an edge (most context), the
    earlier window on a tie.

    `ranges` come in order (starts and ends rising, as `window_starts` makes them), so the
    windows holding a token are a run of neighbours and only those are compared: a token-by-
    window matrix would grow with the square of a long line (a 1.5 MB one-line text: 7 GB).
    """
    positions = np.arange(n_tokens)
    begin = np.asarray([a for a, _ in ranges], dtype=np.int64)
    end = np.asarray([b for _, b in ranges], dtype=np.int64)
    first = np.searchsorted(end, positions, side="right")  # the first window ending after p
    stop = np.searchsorted(begin, positions, side="right")  # past the last window starting <= p
    width = int((stop - first).max()) if n_tokens else 0
    candidates = first[:, None] + np.arange(max(width, 1))[None, :]
    valid = candidates < stop[:, None]
    w = np.minimum(candidates, len(ranges) - 1)
    p = positions[:, None]
    margin = np.where(valid, np.minimum(p - begin[w], end[w] - 1 - p), -1)
    return np.asarray(w[positions, margin.argmax(axis=1)])


_background = 0
_background_lock = threading.Lock()


@contextmanager
def background_work() -> Iterator[None]:
    """Mark CPU-heavy work running on another thread (the spaCy parse of the next analysers).

    While any is marked, encoders run on one thread fewer. On two cores this matters: with both
    onnxruntime threads and the parse competing for them, each parallel section waits for
    whichever of its threads the parse has pushed off a core, so the overlap bought nothing.
    """
    global _background
    with _background_lock:
        _background += 1
    try:
        yield
    finally:
        with _background_lock:
            _background -= 1


def cores_shared() -> bool:
    return _background > 0


def thread_count(threads: int | None = None) -> int:
    """Threads for onnxruntime: as asked, else $PROPSCOPE_THREADS, else one per core."""
    return threads or int(os.environ.get("PROPSCOPE_THREADS", "0")) or (os.cpu_count() or 1)


def _session_options(threads: int | None, spin: bool) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = thread_count(threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads spin-wait for the next task: about 4% faster alone, but a spinning thread
    # takes the core a background parse needs, so the narrow session does not spin.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return options


@cache
def load_session(path: str, threads: int | None = None, spin: bool = True) -> Any:
    """One ONNX Runtime session per model file, thread count and process (~0.3 s to load)."""
    import onnxruntime as ort

    return ort.InferenceSession(
        path, sess_options=_session_options(threads, spin), providers=["CPUExecutionProvider"]
    )


@dataclass(frozen=True, slots=True)
class Cut:
    """A window of tokens [start, end) encoded together, answering for [own_start, own_end)."""

    start: int
    end: int
    own_start: int
    own_end: int


def window_cuts(text: str, tokens: Tokens, size: int, stride: int, by_lines: bool) -> list[Cut]:
    """The windows encoded for one text and the tokens each one answers for.

    `by_lines`: packed whole lines, each token encoded once, as the technique model was
    trained; a line longer than a window gets overlapping windows of its own. Otherwise
    windows every `stride` tokens, each token answered for by its most central window.
    """
    if not by_lines:
        return _overlapping(0, len(tokens), size, stride)
    return [
        cut
        for a, b in line_windows(tokens, text, size, cut_long=False)
        for cut in ([Cut(a, b, a, b)] if b - a <= size else _overlapping(a, b, size, stride))
    ]


def _overlapping(first: int, last: int, size: int, stride: int) -> list[Cut]:
    """Windows every `stride` tokens over tokens [first, last)."""
    n = last - first
    ranges = [(s, min(s + size, n)) for s in window_starts(n, size, stride)]
    owner = window_owner(n, ranges)  # rises with the token: each window owns one run of tokens
    windows = np.arange(len(ranges))
    own_start = np.searchsorted(owner, windows, side="left").tolist()
    own_end = np.searchsorted(owner, windows, side="right").tolist()
    return [
        Cut(first + a, first + b, first + (lo if hi > lo else a), first + (hi if hi > lo else a))
        for (a, b), lo, hi in zip(ranges, own_start, own_end, strict=True)
    ]


def stitch(
    docs: Sequence[int], cuts: Sequence[Cut], rows: Sequence[Sequence[np.ndarray]]
) -> list[list[np.ndarray]]:
    """Per text, each output with one row per token: window k (of text `docs[k]`, cut as
    `cuts[k]`, outputs `rows[k]` without [CLS]) gives the rows of the tokens it answers for.

    Windows come in text order and `window_cuts` gives every token to exactly one window, in
    token order, so stitching is concatenation.
    """
    stitched = []
    for _, group in itertools.groupby(range(len(cuts)), key=lambda k: docs[k]):
        mine = list(group)
        stitched.append([
            np.concatenate([
                rows[k][out][cuts[k].own_start - cuts[k].start : cuts[k].own_end - cuts[k].start]
                for k in mine
            ])
            for out in range(len(rows[mine[0]]))
        ])
    return stitched


def _rows(n: int, batch_output: np.ndarray, name: str, half: Mapping[str, int]) -> np.ndarray:
    """An empty array for a text's `n` rows of one output (float16 if `half` says so)."""
    dtype = np.float16 if n > half.get(name, n) and batch_output.dtype == np.float32 else batch_output.dtype
    return np.empty((n, *batch_output.shape[2:]), dtype=dtype)


@dataclass(frozen=True, slots=True)
class _Window:
    doc: int
    cut: Cut
    ids: np.ndarray


class WindowedEncoder:
    """Runs a token-level ONNX model over texts of any length.

    The model takes `input_ids`, `attention_mask` (and `token_type_ids` if it declares them)
    of shape (batch, seq) and returns per-token outputs of shape (batch, seq, ...).
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        window: int = 256,
        stride: int = 128,
        by_lines: bool = False,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self.model_path = str(model_path)
        self.threads = thread_count(threads)
        self.session = load_session(self.model_path, self.threads)
        self.tokenizer = load_tokenizer(str(tokenizer_path))
        self.special = special_ids(self.tokenizer)
        self.size = window - 2  # room for [CLS] and [SEP]
        self.stride = stride
        self.by_lines = by_lines
        self.batch_size = batch_size
        self.input_names = {i.name for i in self.session.get_inputs()}

    def encode(
        self, texts: Sequence[str], outputs: Sequence[str], half: Mapping[str, int] | None = None
    ) -> list[tuple[Tokens, dict[str, np.ndarray]]]:
        """Per text: its tokens and, for each named output, one row per token (stitched).

        `half` maps an output to a token count: a text with more tokens keeps that output in
        float16, half the memory (a 1.5 MB text's hidden states are 485 MB in float32).
        """
        tokens = [tokenize(self.tokenizer, text) for text in texts]
        stitched = self._run(self._windows(texts, tokens), [len(t) for t in tokens], outputs, half or {})
        return [
            (toks, dict(zip(outputs, arrays, strict=True)))
            for toks, arrays in zip(tokens, stitched, strict=True)
        ]

    def _windows(self, texts: Sequence[str], tokens: Sequence[Tokens]) -> list[_Window]:
        return [
            _Window(d, cut, toks.ids[cut.start : cut.end])
            for d, (text, toks) in enumerate(zip(texts, tokens, strict=True))
            for cut in window_cuts(text, toks, self.size, self.stride, self.by_lines)
        ]

    def _run(
        self, windows: Sequence[_Window], lengths: Sequence[int], outputs: Sequence[str],
        half: Mapping[str, int],
    ) -> list[list[np.ndarray]]:
        """Run windows in batches of similar length (less padding), each window's rows copied
        straight into its text's arrays (`stitch`'s result, built in place): a batch's padded
        outputs are dropped as soon as it is done, so memory is the texts' rows and one batch."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        stitched: list[list[np.ndarray]] = []
        for b in range(0, len(order), self.batch_size):
            batch = order[b : b + self.batch_size]
            arrays = self._run_batch([windows[i].ids for i in batch], outputs)
            if not stitched:
                named = list(zip(outputs, arrays, strict=True))
                stitched = [[_rows(n, a, name, half) for name, a in named] for n in lengths]
            for row, i in enumerate(batch):
                cut, rows = windows[i].cut, stitched[windows[i].doc]
                lo, hi = cut.own_start - cut.start + 1, cut.own_end - cut.start + 1  # after [CLS]
                for out, array in zip(rows, arrays, strict=True):
                    out[cut.own_start : cut.own_end] = array[row, lo:hi]
        return stitched

    def _run_batch(self, pieces: Sequence[np.ndarray], outputs: Sequence[str]) -> list[Any]:
        length = max(len(p) for p in pieces) + 2
        special = self.special
        ids = np.full((len(pieces), length), special.pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, piece in enumerate(pieces):
            ids[row, : len(piece) + 2] = [special.cls, *piece.tolist(), special.sep]
            mask[row, : len(piece) + 2] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        return list(self._session().run(list(outputs), feed))

    def _session(self) -> Any:
        """The full session, or while a background parse runs one thread fewer (loaded the
        first time it is needed: most processes never parse in the background)."""
        if self.threads > 1 and cores_shared():
            return load_session(self.model_path, self.threads - 1, spin=False)
        return self.session
