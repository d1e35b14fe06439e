"""Entity framing head on the technique encoder: how an article casts a named entity.

Each mention gets a main role (Protagonist, Antagonist, Innocent) and one to three of the 22
fine roles under it (SemEval-2025 Task 10, subtask 1). The input is four mean-pooled states of
the encoder pass the techniques analyser already made: the mention, its sentence, every
sentence that names the same string, and the whole article (`mention_features`). Two linear
softmax layers read them, one over main roles and one over fine roles, with calibration maps
fitted out of fold (models/techniques/FRAMING.md). Fitted by `propscope.training.framing`;
weights in framing.npz, roles, calibration and decision thresholds in framing.json.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from propscope.models._files import read_head, require_encoder
from propscope.models.sentence_heads import unit
from propscope.models.technique_head import softmax as softmax  # re-exported: training reads it here

WEIGHTS = "framing.npz"
CONFIG = "framing.json"
MAIN_ROLES = ("Protagonist", "Antagonist", "Innocent")
Span = tuple[int, int]
Array = npt.NDArray[Any]
CONTEXT = 60  # characters of left and right context pooled (about ten words)
BLOCKS = 6  # pooled states per mention: mention, sentence, left, right, same name, article


def sentence_of(sentences: Sequence[Span], start: int, end: int) -> Span:
    """The sentence holding a mention's start (the mention itself when none does)."""
    return next(((s, e) for s, e in sentences if s <= start < e), (start, end))


def occurrences(text: str, surface: str) -> list[int]:
    """Start offsets of every occurrence of `surface` in `text` (the same name elsewhere)."""
    found, k = [], text.find(surface) if surface else -1
    while k >= 0:
        found.append(k)
        k = text.find(surface, k + 1)
    return found


def mention_spans(text: str, sentences: Sequence[Span], mention: Span) -> list[Span]:
    """The spans one mention's features pool over: the mention, its sentence, the words just
    before and just after it in that sentence (CONTEXT characters: who acts on whom sits
    there), and the sentences naming the same string anywhere in the article."""
    start, end = mention
    s_start, s_end = sentence_of(sentences, start, end)
    left = (max(s_start, start - CONTEXT), start)
    right = (end, max(end, min(s_end, end + CONTEXT)))
    same = {sentence_of(sentences, k, k + end - start) for k in occurrences(text, text[start:end])}
    same.add((s_start, s_end))
    return [mention, (s_start, s_end), left, right, *sorted(same)]


def mention_features(
    model: Any, text: str, sentences: Sequence[Span], mentions: Sequence[Span], keep: bool = True
) -> Array:
    """(len(mentions), BLOCKS * width) features for the mentions of one text, from one encoder
    pass: the pooled mention, sentence, left and right context, same-name sentences and article.

    `model` is a `TechniqueModel`; `sentences` are the text's sentence spans; a mention is
    `(start, end)`, end exclusive. Each block is scaled to unit length, so long and short spans
    weigh alike (an empty context, a mention opening its sentence, stays zero).
    """
    if not mentions:
        width = int(model.config.get("hidden_size", 384))
        return np.zeros((0, BLOCKS * width), dtype=np.float32)
    per_mention = [mention_spans(text, sentences, m) for m in mentions]
    article = list(sentences) or [(0, len(text))]
    flat = [span for spans in per_mention for span in spans] + article
    pooled = model.sentence_features([text], [flat], keep=keep)
    article_state = unit(pooled[len(flat) - len(article) :].mean(axis=0, keepdims=True))[0]
    rows, k = [], 0
    for spans in per_mention:
        block = pooled[k : k + len(spans)]
        k += len(spans)
        same = unit(block[4:].mean(axis=0, keepdims=True))[0]
        rows.append(np.concatenate([*unit(block[:4]), same, article_state]))
    return np.asarray(rows, dtype=np.float32)


def fine_logit(probabilities: Array) -> Array:
    """log(q / (1 - q)), clipped: the input of the fine roles' Platt map."""
    q = np.clip(probabilities, 1e-9, 1 - 1e-9)
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _sigmoid(z: Array) -> Array:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True, slots=True)
class Framing:
    """One mention's roles: the main role, its fine roles, and every role's calibrated score."""

    main_role: str
    fine_roles: tuple[str, ...]
    scores: dict[str, float]


@dataclass(frozen=True)
class FramingHead:
    """The fitted layers and maps of framing.npz / framing.json."""

    config: dict[str, Any]
    weights: dict[str, np.ndarray]

    @classmethod
    def load(cls, folder: Path) -> FramingHead:
        return cls(*read_head(folder, WEIGHTS, CONFIG, "framing head", np.float64))

    @property
    def fine_roles(self) -> list[str]:
        return list(self.config["fine_roles"])

    @property
    def parents(self) -> list[str]:
        """The main role of each fine role, in `fine_roles` order."""
        return list(self.config["parents"])

    def probabilities(self, features: Array) -> tuple[Array, Array]:
        """Calibrated (n, 3) main-role probabilities and (n, 22) fine-role probabilities.

        A fine role's score is the calibrated chance that it is among the mention's fine roles
        (Platt scaling of the logit of its softmax probability, one map for all fine roles).
        """
        w = self.weights
        x = (np.asarray(features, dtype=np.float64) - w["mean"]) / w["scale"]
        main_log = np.log(softmax(x @ w["main_w"] + w["main_b"]) + 1e-12)
        main = softmax(main_log @ w["main_cal_w"] + w["main_cal_b"])
        a, b = self.config["fine_calibration"]
        return main, _sigmoid(a * fine_logit(softmax(x @ w["fine_w"] + w["fine_b"])) + b)

    def decide(self, main: Array, fine: Array) -> list[Framing]:
        """Roles per mention from the calibrated scores.

        The main role is the argmax of the calibrated scores shifted by `main_offsets` (log
        scale, chosen by cross-validation for exact match and main-role macro-F1: rarer roles
        need less evidence). The fine roles are the best-scoring one under that main role, plus
        any other under it whose score clears `second_threshold`, three at most.
        """
        offsets = np.asarray(self.config["main_offsets"], dtype=np.float64)
        second = float(self.config["second_threshold"])
        names, parents = self.fine_roles, self.parents
        out = []
        for p_main, p_fine in zip(main, fine, strict=True):
            role = MAIN_ROLES[int(np.argmax(np.log(p_main + 1e-12) + offsets))]
            under = sorted(
                (k for k, parent in enumerate(parents) if parent == role), key=lambda k: -p_fine[k]
            )
            chosen = [under[0]] + [k for k in under[1:3] if p_fine[k] >= second]
            scores = {r: float(p) for r, p in zip(MAIN_ROLES, p_main, strict=True)}
            scores.update((n, float(p)) for n, p in zip(names, p_fine, strict=True))
            out.append(Framing(role, tuple(names[k] for k in chosen), scores))
        return out

    def frame(self, features: Array) -> list[Framing]:
        """`decide(*probabilities(features))`, on the feature parts the head was fitted on."""
        columns = int(self.config.get("columns") or features.shape[1])
        return self.decide(*self.probabilities(features[:, :columns]))

    def aggregate(self, frames: Sequence[Framing]) -> Framing:
        """An actor's roles from its mentions' frames: the mean of their calibrated scores,
        decided by the same rule as one mention (so an actor cast as a victim in most of its
        mentions is a victim, whatever one sentence says)."""
        main = np.array([[f.scores[r] for r in MAIN_ROLES] for f in frames]).mean(axis=0, keepdims=True)
        fine = np.array([[f.scores[r] for r in self.fine_roles] for f in frames]).mean(axis=0, keepdims=True)
        return self.decide(main, fine)[0]


@cache
def load_head(folder: str) -> FramingHead:
    """The framing head in a technique model folder, loaded once per process; E203-style
    load error when it was fitted on another encoder (its inputs would be meaningless)."""
    path = Path(folder)
    head = FramingHead.load(path)
    encoder = json.loads((path / "config.json").read_text("utf-8")).get("version")
    refit = f"refit it with python -m propscope.training.framing --out {path}"
    require_encoder(head.config, encoder, "framing head", "the framing head was", refit)
    return head
