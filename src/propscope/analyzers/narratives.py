"""Narratives: which catalogued disinformation narratives an article serves, with evidence.

Every sentence gets a vector in all-MiniLM-L6-v2's sentence-embedding space and is compared
with the example claims of each narrative in propscope/narratives/*.yaml; a narrative's score
for a sentence is its best example's cosine. Sentences at or above the threshold are evidence;
an article serves a narrative when at least one sentence is evidence for it, a sentence being
evidence only for its best-matching narrative.

- `narratives` (default): the vectors come from the technique encoder's hidden states through
  a linear projection fitted to MiniLM's embeddings (models/techniques/SENTENCE_HEADS.md), so
  matching costs no encoder pass of its own.
- `narratives_minilm`: embeds every sentence with the bundled MiniLM itself (an encoder pass
  of its own): a little more accurate, slower; figures side by side in benchmarks/narratives.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from propscope.analyzers import _spacy
from propscope.analyzers.techniques import ReadsTechniqueEncoder
from propscope.document import Annotations, Document, Evidence, Narrative
from propscope.models import encoder
from propscope.narratives import NarrativeEntry, load_catalogue

# For `narratives_minilm`. Swept 0.30-0.70 in steps of 0.01 on tests/data/narratives_labelled.yaml
# (156 of our own sentences, 28 narratives + none). Best micro-F1 at 0.40 (P 0.78 R 0.83 F1
# 0.81); 0.45 keeps F1 0.79 with precision 0.85, since an article offers tens of sentences to
# false-match. The default analyser's threshold is in its sentence_heads.json.
# benchmarks/narratives.py re-runs the sweeps and reports the figures.
NARRATIVE_THRESHOLD = 0.45
MAX_EVIDENCE = 3  # sentences shown per narrative
MAX_NARRATIVES = 6  # per article, best first
MIN_WORDS = 5  # headlines and bylines below this carry no claim worth matching


@dataclass(frozen=True)
class Matcher:
    """The catalogue with its example embeddings: one row per example, and its narrative."""

    entries: tuple[NarrativeEntry, ...]
    vectors: np.ndarray  # (examples, 384), unit length
    owner: np.ndarray  # (examples,) index into entries

    @classmethod
    def build(
        cls, entries: Sequence[NarrativeEntry], embed: Callable[[list[str]], np.ndarray] = encoder.embed
    ) -> Matcher:
        """The catalogue's examples embedded by `embed` (MiniLM unless told otherwise)."""
        texts = [ex for e in entries for ex in e.examples]
        owner = [i for i, e in enumerate(entries) for _ in e.examples]
        return cls(tuple(entries), embed(texts), np.array(owner, dtype=np.int64))

    def scores(self, sentence_vectors: np.ndarray) -> np.ndarray:
        """(sentences, narratives): the best example cosine of each narrative per sentence."""
        sims = sentence_vectors @ self.vectors.T
        out = np.full((len(sentence_vectors), len(self.entries)), -1.0, dtype=np.float32)
        for j in range(len(self.entries)):
            cols = sims[:, self.owner == j]
            if cols.size:
                out[:, j] = cols.max(axis=1)
        return out


class NarrativesAnalyzer(_spacy.SharedParse, ReadsTechniqueEncoder):
    """The `narratives` analyser: sentence vectors from the technique encoder's pass."""

    name = "narratives"
    version = "narratives-shared-minilm6-1"
    produces = ("narratives",)
    requires: tuple[str, ...] = ()

    @property
    def threshold(self) -> float:
        given = self.given_threshold
        return self.model.heads.narrative_threshold if given is None else given

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher.build(load_catalogue(), self.embed)

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Vectors for loose sentences (catalogue examples, test sets), each read on its own."""
        return self.vectors(list(sentences), [[(0, len(s))] for s in sentences], keep=False)

    def vectors(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        """One unit vector per span of each text, flat and in order."""
        return self.model.heads.embed(self.model.sentence_features(texts, spans, keep))

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        spans = [candidate_sentences(d.text) for d in docs]
        scores = self.matcher.scores(self.vectors([d.text for d in docs], spans))
        out, row = [], 0
        for doc, doc_spans in zip(docs, spans, strict=True):
            block = scores[row : row + len(doc_spans)]
            row += len(doc_spans)
            out.append(Annotations(narratives=self.narratives(doc.text, doc_spans, block)))
        return out

    def narratives(
        self, text: str, spans: Sequence[tuple[int, int]], scores: np.ndarray
    ) -> tuple[Narrative, ...]:
        """Narratives with evidence in one document, best first.

        A sentence is evidence only for the narrative it matches best, as in the labelled-set
        calibration of the threshold: one strong sentence about Ukraine should not also count
        for every other Ukraine narrative that clears the threshold through it.
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


class MiniLMNarrativesAnalyzer(NarrativesAnalyzer):
    """`narratives_minilm`: every sentence embedded by the bundled MiniLM (a pass of its own)."""

    name = "narratives_minilm"
    version = "narratives-minilm-int8-2"

    def __init__(self, threshold: float = NARRATIVE_THRESHOLD) -> None:
        super().__init__(threshold)

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        return encoder.embed(list(sentences))

    def vectors(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        return encoder.embed(
            [t[s:e] for t, doc_spans in zip(texts, spans, strict=True) for s, e in doc_spans]
        )
