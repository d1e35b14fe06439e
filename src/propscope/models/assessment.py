"""The article-level assessment: how likely it is that an article uses propaganda techniques
at all, and how densely, from the calibrated technique spans the model found in it.

A small logistic map over three signals of a text unit: the noisy-OR of its span scores (the
chance that at least one found span is a real one, if they were independent), the expected
number of real spans per 100 words, and the unit's length in words (a long text has more room
for a technique the model missed). It is fitted on PTC dev paragraphs, because nearly every PTC
article carries spans (propscope.training.assess_articles says how, and how it was measured).
The density is ranked among the PTC dev articles' expected densities.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FILE = "assessment.json"
INPUTS = ("noisy_or", "expected_per_100_words", "log_words")


def word_count(text: str) -> int:
    return len(text.split())


def unit_features(scores: Sequence[float], words: int) -> np.ndarray:
    """The map's inputs for a text unit of `words` words whose found spans scored `scores`."""
    miss = 1.0
    for p in scores:
        miss *= 1.0 - min(max(p, 0.0), 1.0)
    expected = 100.0 * sum(scores) / max(words, 1)
    return np.array([1.0 - miss, expected, math.log1p(words)], dtype=np.float64)


@dataclass(frozen=True)
class Assessor:
    weights: tuple[float, ...]
    bias: float
    density_quantiles: tuple[float, ...]  # of PTC dev articles' expected densities, 0 %, 5 %, ..., 100 %

    @classmethod
    def load(cls, folder: Path) -> Assessor | None:
        """The folder's map, or None for a model folder without one (a retrained model)."""
        path = folder / FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text("utf-8"))
        return cls(tuple(data["weights"]), float(data["bias"]), tuple(data["density_quantiles"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": list(INPUTS), "weights": list(self.weights), "bias": self.bias,
            "density_quantiles": list(self.density_quantiles),
        }

    def probability_of(self, features: np.ndarray) -> float:
        z = float(np.dot(self.weights, features)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def percentile(self, density: float) -> int:
        """Where a density falls among the PTC dev articles', in percent (0-100)."""
        q = self.density_quantiles
        if not q:
            return 0
        return round(100 * bisect.bisect_right(q, density) / len(q))

    def assess(self, text: str, scores: Sequence[float]) -> dict[str, float | int]:
        features = unit_features(scores, word_count(text))
        return {
            "propaganda_probability": round(self.probability_of(features), 4),
            "expected_spans_per_100_words": round(float(features[1]), 3),
            "density_percentile_ptc": self.percentile(float(features[1])),
        }
