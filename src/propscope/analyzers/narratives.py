"""Narratives: which catalogued disinformation narratives an article serves, with evidence, or none.

Every sentence gets a vector and its best cosine to each narrative's example claims
(propscope/narratives/*.yaml). A learned scoring layer (propscope/narratives/layer.py, fitted on
the training part of the EUvsDisinfo cases) turns both into a calibrated probability per
narrative. A sentence is evidence for the narrative it scores best on, when that probability
clears the layer's threshold (chosen by cross-validation on the training part); an article serves
a narrative when at least one sentence is evidence for it, and its score is the best evidence
sentence's. Below the threshold everywhere, the article gets no narrative: "no known narrative"
is an answer, and the renderers say so.

- `narratives` (default) and `narratives_minilm`: the vectors are all-MiniLM-L6-v2's own
  sentence embeddings (an encoder pass of its own).
- `narratives_shared`: the vectors come from the technique encoder's hidden states through a
  linear projection into MiniLM's space (models/techniques/SENTENCE_HEADS.md), so matching costs
  no encoder pass of its own; less accurate. Figures side by side: `propscope eval narratives`
  and benchmarks/narratives.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from propscope.analyzers import _spacy
from propscope.analyzers.techniques import ReadsTechniqueEncoder
from propscope.document import Annotations, Document, Evidence, Narrative
from propscope.errors import AnalyzerError
from propscope.models import encoder
from propscope.narratives import NarrativeEntry, load_catalogue
from propscope.narratives.layer import ScoringLayer

MAX_EVIDENCE = 3  # sentences shown per narrative
MAX_NARRATIVES = 6  # per article, best first
MIN_WORDS = 5  # headlines and bylines below this carry no claim worth matching

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Matcher:
    """The catalogue with its example embeddings (one row per example, and its narrative) and,
    when fitted, the scoring layer that turns cosines into calibrated probabilities."""

    entries: tuple[NarrativeEntry, ...]
    vectors: np.ndarray  # (examples, dim), unit length
    owner: np.ndarray  # (examples,) index into entries
    layer: ScoringLayer | None = None

    @classmethod
    def build(
        cls,
        entries: Sequence[NarrativeEntry],
        embed: Embed = encoder.embed,
        layer: ScoringLayer | None = None,
    ) -> Matcher:
        """The catalogue's examples embedded by `embed` (MiniLM unless told otherwise)."""
        texts = [ex for e in entries for ex in e.examples]
        owner = [i for i, e in enumerate(entries) for _ in e.examples]
        if layer is not None:
            layer.order_for(tuple(e.id for e in entries))  # E431 now, not at the first article
        return cls(tuple(entries), embed(texts), np.array(owner, dtype=np.int64), layer)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries)

    def cosines(self, sentence_vectors: np.ndarray) -> np.ndarray:
        """(sentences, narratives): the best example cosine of each narrative per sentence."""
        sims = sentence_vectors @ self.vectors.T
        out = np.full((len(sentence_vectors), len(self.entries)), -1.0, dtype=np.float32)
        for j in range(len(self.entries)):
            cols = sims[:, self.owner == j]
            if cols.size:
                out[:, j] = cols.max(axis=1)
        return out

    def scores(self, sentence_vectors: np.ndarray) -> np.ndarray:
        """(sentences, narratives): calibrated probabilities (cosines when no layer is fitted)."""
        cosines = self.cosines(sentence_vectors)
        if self.layer is None:
            return cosines
        order = self.layer.order_for(self.ids)
        in_layer_order = np.empty_like(cosines)
        in_layer_order[:, order] = cosines
        return self.layer.probabilities(sentence_vectors, in_layer_order)[:, order]


@dataclass(frozen=True)
class Match:
    """One document's narratives as shown, and every narrative's best sentence score (the
    evaluation reads both: top-3 and calibration look past the threshold)."""

    narratives: tuple[Narrative, ...]
    best: np.ndarray  # (narratives,) in catalogue order; -1 when the document has no sentence


class CatalogueMatching(_spacy.SharedParse):
    """What the catalogue analysers share; subclasses say where sentence vectors come from."""

    name = "narratives_base"
    version = "narratives-base"
    embedding = ""  # names the fitted layer: propscope/narratives/matcher-<embedding>.npz
    produces = ("narratives",)
    requires: tuple[str, ...] = ()
    given_threshold: float | None = None

    @property
    def threshold(self) -> float:
        """The calibrated probability a narrative must reach to be shown (the layer's, unless
        one was given)."""
        layer = self.matcher.layer
        if self.given_threshold is not None or layer is None:
            return float(self.given_threshold or 0.0)
        return layer.threshold

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher.build(load_catalogue(), self.embed, ScoringLayer.load(self.embedding))

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Vectors for loose sentences (catalogue examples, test sets), each read on its own."""
        raise NotImplementedError

    def vectors(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        """One unit vector per span of each text, flat and in order."""
        raise NotImplementedError

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        return [Annotations(narratives=m.narratives) for m in self.match(docs)]

    def match(self, docs: Sequence[Document]) -> list[Match]:
        """Per document: the narratives shown and each narrative's best sentence score."""
        spans = [candidate_sentences(d.text) for d in docs]
        scores = self.matcher.scores(self.vectors([d.text for d in docs], spans))
        out, row, width = [], 0, len(self.matcher.entries)
        for doc, doc_spans in zip(docs, spans, strict=True):
            block = scores[row : row + len(doc_spans)]
            row += len(doc_spans)
            best = block.max(axis=0) if len(block) else np.full(width, -1.0, dtype=np.float32)
            out.append(Match(self.narratives(doc.text, doc_spans, block), best))
        return out

    def narratives(
        self, text: str, spans: Sequence[tuple[int, int]], scores: np.ndarray
    ) -> tuple[Narrative, ...]:
        """Narratives with evidence in one document, best first; empty when none clears the
        threshold (the matcher abstains).

        A sentence is evidence only for the narrative it matches best: one strong sentence about
        Ukraine should not also count for every other Ukraine narrative that clears the
        threshold through it.
        """
        found, threshold = [], self.threshold
        best = scores.argmax(axis=1) if len(scores) else np.zeros(0, dtype=np.int64)
        for j, entry in enumerate(self.matcher.entries):
            hits = [i for i in np.argsort(-scores[:, j]) if best[i] == j and scores[i, j] >= threshold]
            if not hits:
                continue
            evidence = tuple(
                Evidence(spans[i][0], spans[i][1], text[spans[i][0] : spans[i][1]], float(scores[i, j]))
                for i in hits[:MAX_EVIDENCE]
            )
            found.append(Narrative(entry.id, entry.title, evidence[0].score, evidence))
        found.sort(key=lambda n: -n.score)
        return tuple(found[:MAX_NARRATIVES])


def candidate_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence offsets worth matching (MIN_WORDS words or more)."""
    return [(s, e) for s, e in _spacy.plain_sentences(text) if len(text[s:e].split()) >= MIN_WORDS]


class SharedNarrativesAnalyzer(CatalogueMatching, ReadsTechniqueEncoder):
    """`narratives_shared`: sentence vectors from the technique encoder's pass, projected."""

    name = "narratives_shared"
    version = "narratives-shared-minilm6-cal1"
    embedding = "shared"

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        return self.vectors(list(sentences), [[(0, len(s))] for s in sentences], keep=False)

    def vectors(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        heads = self.model.heads
        if "proj_w" not in heads.weights:  # the accurate profile ships its claims head only
            reason = (f"the sentence heads in {self.model.folder} carry no projection into MiniLM's space; "
                      "use `narratives` (MiniLM), or refit them with python -m "
                      f"propscope.training.sentence_heads --ptc DIR --model {self.model.folder}")
            raise AnalyzerError(AnalyzerError.E_LOAD.format(name=self.name, reason=reason))
        return heads.embed(self.model.sentence_features(texts, spans, keep))


class MiniLMNarrativesAnalyzer(CatalogueMatching):
    """`narratives_minilm`: every sentence embedded by the bundled MiniLM (a pass of its own)."""

    name = "narratives_minilm"
    version = "narratives-minilm-int8-cal1"
    embedding = "minilm"

    def __init__(self, threshold: float | None = None) -> None:
        self.given_threshold = threshold

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        return encoder.embed(list(sentences))

    def vectors(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        return encoder.embed(
            [t[s:e] for t, doc_spans in zip(texts, spans, strict=True) for s, e in doc_spans]
        )


class NarrativesAnalyzer(MiniLMNarrativesAnalyzer):
    """The default `narratives` analyser: MiniLM's own embeddings with the fitted layer, chosen
    over the shared projection by cross-validated EUvsDisinfo top-1 F1 on the training part
    (propscope/narratives/matcher-minilm.json)."""

    name = "narratives"


ANALYZERS: dict[str, type[CatalogueMatching]] = {
    "narratives": NarrativesAnalyzer,
    "narratives_minilm": MiniLMNarrativesAnalyzer,
    "narratives_shared": SharedNarrativesAnalyzer,
}
