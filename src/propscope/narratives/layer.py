"""The learned scoring layer of the narrative matcher, with its calibration and threshold.

Cosine to the catalogue's examples ranks narratives, but it is no probability and one threshold
on it is blind to how wide each narrative is. The layer is a logistic regression per narrative
over a sentence's vector and its best cosine to every narrative's examples, fitted on the
training part of the EUvsDisinfo cases (propscope.training.narrative_matcher). One Platt map
(slope, intercept) fitted on out-of-fold logits turns its logit into a calibrated probability
that the sentence's case carries the narrative; an article's score for a narrative is the best
of its sentences'. Weights and figures live next to the catalogue (matcher-<embedding>.npz and
.json), since they are fitted to its ids: a changed catalogue needs a refitted layer (E431).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from propscope.errors import UsageError

LAYER_DIR = Path(__file__).resolve().parent


def layer_paths(embedding: str, folder: Path = LAYER_DIR) -> tuple[Path, Path]:
    """(weights, config) files of the layer fitted on `embedding`'s vectors."""
    return folder / f"matcher-{embedding}.npz", folder / f"matcher-{embedding}.json"


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, as float32, without overflow warnings."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float32)


@dataclass(frozen=True)
class ScoringLayer:
    """Per-narrative logistic weights over [vector, cosines], a Platt map and the threshold."""

    ids: tuple[str, ...]
    weights: np.ndarray  # (dim + len(ids), len(ids))
    bias: np.ndarray  # (len(ids),)
    slope: float
    intercept: float
    threshold: float
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, embedding: str, folder: Path = LAYER_DIR) -> ScoringLayer:
        """The layer fitted on `embedding` (E430 when its files are missing)."""
        weights_path, config_path = layer_paths(embedding, folder)
        if not weights_path.is_file() or not config_path.is_file():
            raise UsageError(UsageError.E_NARRATIVE_LAYER.format(path=weights_path))
        config = json.loads(config_path.read_text("utf-8"))
        with np.load(weights_path) as npz:
            weights, bias = np.asarray(npz["weights"], np.float32), np.asarray(npz["bias"], np.float32)
        calibration = config["calibration"]
        return cls(
            tuple(config["ids"]),
            weights,
            bias,
            float(calibration["slope"]),
            float(calibration["intercept"]),
            float(config["threshold"]["value"]),
            config,
        )

    def save(self, embedding: str, folder: Path = LAYER_DIR) -> None:
        """Write the weights (npz) and the config with its figures (json)."""
        weights_path, config_path = layer_paths(embedding, folder)
        np.savez_compressed(weights_path, weights=self.weights, bias=self.bias)
        config_path.write_text(json.dumps(self.config, indent=1, allow_nan=False) + "\n", "utf-8")

    def logits(self, vectors: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        """(sentences, narratives) raw logits; `cosines` columns in the layer's id order."""
        features = np.hstack([vectors, cosines]).astype(np.float32)
        return np.asarray(features @ self.weights + self.bias, dtype=np.float32)

    def probabilities(self, vectors: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        """(sentences, narratives) calibrated probabilities."""
        return sigmoid(self.slope * self.logits(vectors, cosines) + self.intercept)

    def order_for(self, ids: tuple[str, ...]) -> np.ndarray:
        """Column index of each catalogue id in this layer (E431 when the catalogue changed)."""
        if set(ids) != set(self.ids):
            missing = sorted(set(ids) ^ set(self.ids))
            raise UsageError(UsageError.E_NARRATIVE_CATALOGUE.format(ids=", ".join(missing)))
        position = {n: k for k, n in enumerate(self.ids)}
        return np.array([position[n] for n in ids], dtype=np.int64)
