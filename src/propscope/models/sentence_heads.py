"""Sentence heads on the technique encoder: check-worthiness, and a projection into the
all-MiniLM-L6-v2 sentence-embedding space that the narrative catalogue is matched in.

The technique analyser already encodes every token of an article. Mean-pooling those hidden
states over a sentence gives the claims and narratives analysers their input, so the whole
pipeline makes one encoder pass per window instead of three. The heads are small numpy layers
fitted by `propscope.training.sentence_heads` on the encoder they read, and live next to it
(sentence_heads.npz + sentence_heads.json in the technique model folder): a retrained encoder
needs refitted heads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscope.errors import AnalyzerError
from propscope.models.technique_head import token_ranges

WEIGHTS = "sentence_heads.npz"
CONFIG = "sentence_heads.json"


def pool_sentences(offsets: np.ndarray, hidden: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """(len(spans), dim): the mean hidden state of the tokens overlapping each character span."""
    rows = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    for k, (i, j) in enumerate(token_ranges(offsets, spans)):
        if j > i:
            rows[k] = hidden[i:j].mean(axis=0)
    return rows


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), as float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)


@dataclass(frozen=True)
class SentenceHeads:
    """Check-worthiness MLPs (one ReLU layer each, averaged) and a linear map into MiniLM's
    embedding space."""

    config: dict[str, Any]
    weights: dict[str, np.ndarray]

    @classmethod
    def load(cls, folder: Path) -> SentenceHeads:
        if not (folder / WEIGHTS).is_file() or not (folder / CONFIG).is_file():
            raise AnalyzerError(AnalyzerError.E_MODEL.format(name="sentence heads", path=folder / WEIGHTS))
        with np.load(folder / WEIGHTS) as npz:
            weights = {name: np.asarray(npz[name], dtype=np.float32) for name in npz.files}
        return cls(json.loads((folder / CONFIG).read_text("utf-8")), weights)

    def checkworthiness(self, pooled: np.ndarray) -> np.ndarray:
        """P(check-worthy) per pooled sentence: the mean of the ensemble's MLPs."""
        w = self.weights
        hidden = np.maximum(np.einsum("nd,kdh->knh", pooled, w["claim_w1"]) + w["claim_b1"][:, None, :], 0.0)
        logits = np.einsum("knh,kh->kn", hidden, w["claim_w2"]) + w["claim_b2"]
        return np.asarray((1.0 / (1.0 + np.exp(-logits))).mean(axis=0), dtype=np.float32)

    def embed(self, pooled: np.ndarray) -> np.ndarray:
        """Unit vectors in all-MiniLM-L6-v2's sentence space, one per pooled sentence, centred
        on the average news sentence (see propscope.training.sentence_heads.fit_projection)."""
        w = self.weights
        return unit(pooled @ w["proj_w"] + w["proj_b"] - w["proj_centre"])

    @property
    def claim_threshold(self) -> float:
        return float(self.config["claims"]["threshold"])

    @property
    def narrative_threshold(self) -> float:
        return float(self.config["narratives"]["threshold"])
