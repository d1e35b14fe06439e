"""`narrative_labels`: the SemEval-2025 Task 10 narratives and subnarratives an article carries.

A linear multi-label head (models/techniques/narrative_taxonomy.npz, card NARRATIVE_TAXONOMY.md)
reads the technique encoder's hidden states pooled over each sentence, the same pass the
techniques, claims and narratives analysers read, so it costs no encoder pass of its own. An
article is the mean and the max of its sentence vectors and its first sentence (the title),
each unit-length. Scores are calibrated probabilities (Platt maps fitted out of fold on the
English training articles) that the annotators give the article that label.

Decisions follow the taxonomy's rules: a narrative is chosen when its probability clears the
narrative threshold; under it, every subnarrative that clears the subnarrative threshold, or,
when none does, the fallback the cross-validation chose (`X: Other`, or the best child). An
article with no narrative gets the single label `Other` (narrative and subnarrative `Other`),
never mixed with real ones. Evidence for a label is the sentences the head scores highest for
it when it reads that sentence alone as the article's body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from propscope.analyzers import _spacy
from propscope.analyzers.techniques import ReadsTechniqueEncoder
from propscope.document import Annotations, Document, Evidence, NarrativeLabel
from propscope.errors import AnalyzerError
from propscope.models._files import require_encoder

Floats = NDArray[np.float32]

HEAD = "narrative_taxonomy"  # .npz (weights) and .json (labels, maps, thresholds) in the model folder
OTHER = "Other"
MAX_EVIDENCE = 3  # sentences shown per label
MIN_WORDS = 5  # shorter sentences (bylines, headings) are not shown as evidence


@dataclass(frozen=True)
class Taxonomy:
    """The two-level label set: the scorer's lists, and which subnarratives sit under which
    narrative. Columns of the head: `Other`, the real narratives, then their subnarratives."""

    narrative_list: tuple[str, ...]  # the scorer's list, byte-exact, `Other` included
    subnarrative_list: tuple[str, ...]

    @cached_property
    def narratives(self) -> tuple[str, ...]:
        return tuple(n for n in self.narrative_list if n != OTHER)

    @cached_property
    def parents(self) -> dict[str, str]:
        """Subnarrative -> its narrative (the longest narrative it starts with)."""
        found = {OTHER: OTHER}
        for sub in self.subnarrative_list:
            heads = [n for n in self.narratives if sub.startswith(n + ": ")]
            if heads:
                found[sub] = max(heads, key=len)
        return found

    @cached_property
    def children(self) -> tuple[tuple[str, ...], ...]:
        subs = [(s, p) for s, p in self.parents.items() if s != OTHER]
        return tuple(tuple(s for s, p in subs if p == n) for n in self.narratives)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The head's output columns, in order."""
        return (OTHER, *self.narratives, *(s for kids in self.children for s in kids))

    @cached_property
    def index(self) -> dict[str, int]:
        return {label: k for k, label in enumerate(self.columns)}


@dataclass(frozen=True)
class Decision:
    """How probabilities become labels: two thresholds and the fallback under a narrative."""

    narrative: float
    subnarrative: float
    fallback: str  # "other": `X: Other` when no child clears; "best": the best child


def decide(
    p: Floats, taxonomy: Taxonomy, rule: Decision
) -> list[tuple[str, str, float, float]]:
    """(narrative, subnarrative, P(subnarrative), P(narrative)) for one article's calibrated
    probabilities over `taxonomy.columns`, most likely narrative first; [(Other, Other, P, P)]
    when no narrative clears its threshold."""
    index = taxonomy.index
    picked = [n for n in taxonomy.narratives if p[index[n]] >= rule.narrative]
    if not picked:
        return [(OTHER, OTHER, float(p[0]), float(p[0]))]
    out = []
    for narrative in sorted(picked, key=lambda n: -p[index[n]]):
        p_narrative = float(p[index[narrative]])
        for sub in _subnarratives(p, taxonomy, narrative, rule):
            score = float(p[index[sub]]) if sub in index else p_narrative
            out.append((narrative, sub, score, p_narrative))
    return out


def _subnarratives(p: Floats, taxonomy: Taxonomy, narrative: str, rule: Decision) -> list[str]:
    """The children of `narrative` that clear the threshold, best first, else the fallback."""
    index = taxonomy.index
    kids = taxonomy.children[taxonomy.narratives.index(narrative)]
    chosen = sorted((s for s in kids if p[index[s]] >= rule.subnarrative), key=lambda s: -p[index[s]])
    if chosen:
        return chosen
    residual = f"{narrative}: {OTHER}"
    if rule.fallback == "best" and kids:
        return [max(kids, key=lambda s: p[index[s]])]
    return [residual]


def _unit(v: Floats) -> Floats:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.maximum(norm, 1e-9), dtype=np.float32)


def article_features(states: Floats, title: Floats | None = None) -> Floats:
    """(1152,): unit mean, unit max and unit first-sentence (title) vector of an article's
    sentence states (n, 384), as in training, where the title was the first line. `title`: the
    title's own state, for a text that does not start with it (ingest keeps titles apart)."""
    if title is not None:
        states = np.concatenate([title[None, :], states])
    if len(states) == 0:
        states = np.zeros((1, states.shape[1] if states.ndim == 2 else 384), dtype=np.float32)
    return np.concatenate([_unit(states.mean(0)), _unit(states.max(0)), _unit(states[0])])


def sentence_features(states: Floats, title: Floats | None = None) -> Floats:
    """(n, 1152): each sentence read as the whole body of an article with the same title."""
    units = _unit(states)
    lead = np.broadcast_to(_unit(title) if title is not None else units[0], units.shape)
    return np.concatenate([units, units, lead], axis=1)


@dataclass(frozen=True)
class TaxonomyHead:
    """The fitted head: standardisation, one linear layer, per-group Platt maps, the rule."""

    config: dict[str, Any]
    mean: Floats
    scale: Floats
    weights: Floats  # (1152, columns)
    bias: Floats
    platt: Floats  # (columns, 2): slope and intercept on the logit, per column

    @classmethod
    def load(cls, folder: Path) -> TaxonomyHead:
        """The head in a profile's model folder (E204 AnalyzerError when missing)."""
        npz, meta = folder / f"{HEAD}.npz", folder / f"{HEAD}.json"
        if not (npz.is_file() and meta.is_file()):
            raise AnalyzerError(AnalyzerError.E_MODEL.format(name="narrative_labels", path=folder))
        config = json.loads(meta.read_text("utf-8"))
        with np.load(npz) as data:
            names = ("mean", "scale", "weights", "bias", "platt")
            arrays = {k: np.asarray(data[k], dtype=np.float32) for k in names}
        return cls(config, **arrays)

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return Taxonomy(tuple(self.config["narratives"]), tuple(self.config["subnarratives"]))

    @cached_property
    def rule(self) -> Decision:
        d = self.config["decision"]
        return Decision(float(d["narrative"]), float(d["subnarrative"]), str(d["fallback"]))

    def probabilities(self, features: Floats) -> Floats:
        """Calibrated probabilities (rows, columns) for article or sentence feature rows."""
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        z = np.clip(logits * self.platt[:, 0] + self.platt[:, 1], -30.0, 30.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float32)

    def labels(
        self, text: str, spans: Sequence[tuple[int, int]], states: Floats, title: Floats | None = None
    ) -> tuple[NarrativeLabel, ...]:
        """One article's labels with their evidence sentences (`title` as in `article_features`)."""
        p = self.probabilities(article_features(states, title)[None, :])[0]
        found = decide(p, self.taxonomy, self.rule)
        empty = np.zeros((0, len(p)), dtype=np.float32)
        per_sentence = self.probabilities(sentence_features(states, title)) if len(states) else empty
        shown = [k for k, (s, e) in enumerate(spans) if len(text[s:e].split()) >= MIN_WORDS]
        out = []
        for narrative, sub, score, p_narrative in found:
            column = self.taxonomy.index.get(sub, self.taxonomy.index[narrative])
            evidence = () if narrative == OTHER else _evidence(text, spans, shown, per_sentence[:, column])
            out.append(NarrativeLabel(narrative, sub, score, p_narrative, evidence))
        return tuple(out)


def _evidence(
    text: str, spans: Sequence[tuple[int, int]], shown: Sequence[int], scores: Floats
) -> tuple[Evidence, ...]:
    best = sorted(shown, key=lambda k: -float(scores[k]))[:MAX_EVIDENCE]
    return tuple(Evidence(*spans[k], text[spans[k][0] : spans[k][1]], float(scores[k])) for k in best)


def _title_apart(doc: Document) -> bool:
    title = (doc.title or "").strip()
    return bool(title) and not doc.text.lstrip().startswith(title)


@cache
def load_head(folder: str) -> TaxonomyHead:
    """The head in `folder`, loaded once per process."""
    return TaxonomyHead.load(Path(folder))


def sentences(text: str) -> list[tuple[int, int]]:
    """Every sentence of the shared parse (the head was fitted on these), or the whole text."""
    return _spacy.plain_sentences(text) or ([(0, len(text))] if text else [])


class NarrativeLabelsAnalyzer(_spacy.SharedParse, ReadsTechniqueEncoder):
    """The `narrative_labels` analyser."""

    name = "narrative_labels"
    version = "narrative-taxonomy-minilm6-1"
    produces = ("narrative_labels",)
    requires: tuple[str, ...] = ()

    @property
    def head(self) -> TaxonomyHead:
        """The head fitted on this encoder; a head fitted on another one is refused."""
        head = load_head(str(self.model_dir))
        refit = "refit it with python -m propscope.training.narrative_taxonomy"
        version = self.model.config.get("version")
        require_encoder(head.config, version, self.name, "the narrative head was", refit)
        return head

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        head = self.head
        spans = [sentences(d.text) for d in docs]
        states = self.model.sentence_features([d.text for d in docs], spans)
        titles = self.titles(docs)
        out, row = [], 0
        for doc, doc_spans in zip(docs, spans, strict=True):
            block = states[row : row + len(doc_spans)]
            row += len(doc_spans)
            labels = head.labels(doc.text, doc_spans, block, titles.get(doc.id))
            out.append(Annotations(narrative_labels=labels))
        return out

    def titles(self, docs: Sequence[Document]) -> dict[str, Floats]:
        """The pooled state of each title the text does not start with, encoded on its own (a
        few words each): the head was fitted on articles whose first line is their title."""
        apart = [d for d in docs if _title_apart(d)]
        if not apart:
            return {}
        names = [(d.title or "").strip() for d in apart]
        found = self.model.sentence_features(names, [[(0, len(t))] for t in names], keep=False)
        return {d.id: found[k] for k, d in enumerate(apart)}
