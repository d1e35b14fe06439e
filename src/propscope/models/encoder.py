"""The bundled sentence encoder: all-MiniLM-L6-v2, int8 ONNX, loaded once, run in batches.

`minilm/` (exported by propscope/training/export_minilm.py) outputs token embeddings, mean-pooled
and L2-normalised here into sentence embeddings: the space the narrative catalogue is matched
in (`narratives_minilm`, `narratives discover`, and the target the technique encoder's
projection head was fitted to). Texts are sorted by length before batching so that padding
stays short; results come back in input order.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from propscope.errors import AnalyzerError
from propscope.models.sentence_heads import unit

MODELS_DIR = Path(__file__).resolve().parent
BATCH_SIZE = 32
THREADS = 2  # the target machine has 2 cores
EMBED_CACHE_SIZE = 20_000  # sentences (30 MB): a pipeline batch, shared by analysers

_embedded: OrderedDict[str, np.ndarray] = OrderedDict()


class OnnxModel:
    """An exported encoder with its tokenizer and config.json."""

    def __init__(self, folder: Path, name: str) -> None:
        if not (folder / "model.onnx").is_file():
            raise AnalyzerError(AnalyzerError.E_MODEL.format(name=name, path=folder))
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.config: dict[str, Any] = json.loads((folder / "config.json").read_text("utf-8"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(self.config.get("max_len", 128)))
        self.tokenizer.enable_padding()

    def _feeds(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        enc = self.tokenizer.encode_batch(list(texts))
        return {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }

    def run(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> list[np.ndarray]:
        """One output row per text (pooled for token outputs), in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows: list[np.ndarray] = [np.zeros(0)] * len(texts)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            feeds = self._feeds([texts[j] for j in idx])
            out = np.asarray(self.session.run(None, feeds)[0])
            if out.ndim == 3:
                out = mean_pool(out, feeds["attention_mask"])
            for j, row in zip(idx, out, strict=True):
                rows[j] = row
        return rows


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then L2 norm (the sentence-transformers recipe for MiniLM)."""
    weights = mask[..., None].astype(np.float32)
    vectors = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
    return unit(vectors)


@cache
def sentence_encoder() -> OnnxModel:
    """all-MiniLM-L6-v2, int8: 384-d unit vectors."""
    return OnnxModel(MODELS_DIR / "minilm", "narratives")


def embed(texts: Sequence[str]) -> np.ndarray:
    """Sentence embeddings, shape (len(texts), 384), L2-normalised; cached by text.

    The cache lets callers that embed the same sentences twice (discover, benchmarks) pay once.
    """
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    found = {t: _embedded[t] for t in texts if t in _embedded}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        found.update(zip(missing, sentence_encoder().run(missing), strict=True))
        _embedded.update((t, found[t]) for t in missing)
        while len(_embedded) > EMBED_CACHE_SIZE:  # evict only after `found` holds this call's rows
            _embedded.popitem(last=False)
    return np.stack([found[t] for t in texts])


def clear_embeddings() -> None:
    """Forget cached sentence embeddings (benchmarks time the encoder, not the cache)."""
    _embedded.clear()
