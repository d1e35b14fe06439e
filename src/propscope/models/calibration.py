"""Calibration maps: turn a model's raw scores into probabilities measured on held-out data.

A raw SI score is the mean P(inside a technique) of a span's tokens; users read a span's score
as "how likely is a person to mark this", which the raw score is not (on PTC, spans scored
0.1-0.2 overlapped gold more often than spans scored 0.5-0.6). A map fitted on held-out
articles fixes that. It is a weight vector applied with numpy, so inference needs nothing more
(fitting, in propscope.training.calibrate_techniques, needs scikit-learn from the train extra).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ECE_BINS = 10  # the and the literature's convention: 10 equal-width bins


@dataclass(frozen=True)
class Calibration:
    """A logistic map from a span's raw signals to a probability: P = sigmoid(w . x + b).

    x = [logit(mean P(inside)), log(length in characters), logit(top TC probability), one-hot
    of the named technique]. On PTC dev (five repeats of 5-fold by article) the raw SI score
    alone ranks spans no better than chance (AUC 0.49) while length does (0.67), and which
    technique is named matters for whether it is the right one (AUC 0.62 -> 0.70), so a map of
    the raw score alone (Platt or isotonic) could be calibrated only by being uninformative.
    Isotonic steps also overfit a few hundred spans (out-of-fold ECE 0.059 against 0.024 for
    two-parameter Platt on the raw score); a small regularised logistic model does neither.
    """

    labels: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float

    def probability(self, features: np.ndarray) -> float:
        z = float(np.dot(self.weights, features)) + self.intercept
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "logistic",
            "features": ["logit_span_score", "log_chars", "logit_technique_prob", "technique_onehot"],
            "labels": list(self.labels),
            "weights": [round(w, 6) for w in self.weights],
            "intercept": round(self.intercept, 6),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        labels, weights = tuple(data["labels"]), tuple(float(w) for w in data["weights"])
        if data.get("method") != "logistic" or len(weights) != 3 + len(labels):
            raise ValueError("calibration.json: a logistic map with 3 + one weight per label")
        return cls(labels, weights, float(data["intercept"]))


def calibration_inputs(raw_span: float, chars: int, technique_probs: np.ndarray) -> np.ndarray:
    """x for both maps: logit(mean P(inside)), log(length), logit(top TC probability), and the
    top technique one-hot (in the order of the TC head's labels)."""
    top = int(np.argmax(technique_probs))
    onehot = np.zeros(len(technique_probs))
    onehot[top] = 1.0
    head = [_logit(raw_span), float(np.log(max(chars, 1))), _logit(float(technique_probs[top]))]
    return np.concatenate([np.array(head), onehot])


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def reliability(
    prob: Sequence[float] | np.ndarray, outcome: Sequence[int] | np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, float]]:
    """Per equal-width bin: count, mean predicted probability and observed frequency."""
    p, o = np.asarray(prob, dtype=np.float64), np.asarray(outcome, dtype=np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        table.append({
            "low": b / bins,
            "high": (b + 1) / bins,
            "n": n,
            "mean_predicted": float(p[mask].mean()) if n else 0.0,
            "observed": float(o[mask].mean()) if n else 0.0,
        })
    return table


def expected_calibration_error(
    prob: Sequence[float] | np.ndarray, outcome: Sequence[int] | np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE: the count-weighted mean gap between predicted and observed frequency per bin."""
    table = reliability(prob, outcome, bins)
    total = sum(row["n"] for row in table)
    if not total:
        return 0.0
    return sum(row["n"] * abs(row["mean_predicted"] - row["observed"]) for row in table) / total


def load_maps(path: Path) -> tuple[Calibration, Calibration] | None:
    """The (span, technique) maps in a model folder's calibration.json, None without one
    (a model trained but not calibrated yet keeps its raw scores and says so)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text("utf-8"))
    return Calibration.from_json(data["span"]), Calibration.from_json(data["technique"])
