"""Sentence heads on the technique encoder: check-worthiness, and a projection into the
all-MiniLM-L6-v2 sentence-embedding space that the narrative catalogue is matched in.

Check-worthiness is one calibrated logistic regression on the sentence's mean- and max-pooled
hidden states plus six text features (`text_features`); models/techniques/SENTENCE_HEADS.md
says how it was chosen (grouped cross-validation, dev-test read once).

The technique analyser already encodes every token of an article. Mean-pooling those hidden
states over a sentence gives the claims and narratives analysers their input, so the whole
pipeline makes one encoder pass per window instead of three. The heads are small numpy layers
fitted by `propscope.training.sentence_heads` on the encoder they read, and live next to it
(sentence_heads.npz + sentence_heads.json in the technique model folder): a retrained encoder
needs refitted heads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscope.models._files import read_head
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


def pool_mean_max(offsets: np.ndarray, hidden: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """(len(spans), 2 * dim): each span's mean hidden state, then its element-wise maximum (what
    the check-worthiness head reads; zero rows for spans without tokens)."""
    rows = np.zeros((len(spans), 2 * hidden.shape[-1]), dtype=np.float32)
    dim = hidden.shape[-1]
    for k, (i, j) in enumerate(token_ranges(offsets, spans)):
        if j > i:
            states = np.asarray(hidden[i:j], dtype=np.float32)
            rows[k, :dim] = states.mean(axis=0)
            rows[k, dim:] = states.max(axis=0)
    return rows


# Surface cues a debate check-worthiness annotator reacts to and a pooled state blurs: length,
# figures, percentages, money, questions, names. Added to the pooled states they gave +1.5 to +3
# points of grouped-CV F1 (benchmarks/results/claims-protocol.json, lr-C0.01 vs lr-C0.01-x).
_DIGIT = re.compile(r"\d")
_PERCENT = re.compile(r"%|percent", re.IGNORECASE)
_MONEY = re.compile(r"\$|dollars?|million|billion|trillion", re.IGNORECASE)
TEXT_FEATURES = ("log_words", "digit", "percent", "money", "question", "capitalised_share")


def text_features(sentences: Sequence[str]) -> np.ndarray:
    """(len(sentences), 6) float32 columns in TEXT_FEATURES order."""
    rows = []
    for text in sentences:
        words = text.split()
        capitalised = sum(1 for word in words[1:] if word[:1].isupper())
        rows.append(
            [
                np.log1p(len(words)),
                float(bool(_DIGIT.search(text))),
                float(bool(_PERCENT.search(text))),
                float(bool(_MONEY.search(text))),
                float(text.rstrip().endswith("?")),
                capitalised / max(len(words), 1),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(sentences), len(TEXT_FEATURES))


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), as float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)


@dataclass(frozen=True)
class SentenceHeads:
    """A calibrated check-worthiness logistic regression and a linear map into MiniLM's
    embedding space."""

    config: dict[str, Any]
    weights: dict[str, np.ndarray]

    @classmethod
    def load(cls, folder: Path) -> SentenceHeads:
        return cls(*read_head(folder, WEIGHTS, CONFIG, "sentence heads", np.float32))

    def checkworthiness(self, pooled: np.ndarray, sentences: Sequence[str]) -> np.ndarray:
        """Calibrated P(check-worthy) per sentence, from its `pool_mean_max` row and its text.

        One linear layer: the standardisation and the Platt calibration fitted at training time
        are folded into `claim_w`/`claim_b`, so this is all inference does.
        """
        w = self.weights
        inputs = np.hstack([pooled, text_features(sentences)])
        logits = inputs @ w["claim_w"] + w["claim_b"]
        return np.asarray(np.exp(-np.logaddexp(0.0, -logits)), dtype=np.float32)  # sigmoid, no overflow

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
