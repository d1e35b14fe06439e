"""Check-worthy claims: sentences a fact-checker should look at, and who makes them.

Every sentence is scored for check-worthiness by a small head on the technique encoder's hidden
states, pooled over the sentence (trained on CheckThat! 2024 English; models/techniques/
SENTENCE_HEADS.md), so scoring costs no encoder pass beyond the technique analyser's. Sentences
at or above the dev-tuned threshold become claims, each with its speaker and reporting verb when
the parse shows one, and whether it quotes someone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propscope.analyzers import _spacy
from propscope.analyzers._attribution import Attributor, is_quote
from propscope.analyzers.techniques import ReadsTechniqueEncoder
from propscope.document import Annotations, Claim, Document, Span

MIN_WORDS = 4  # shorter "sentences" are headings, bylines and debris
CONTEXT = 8  # loose sentences (an evaluation file) are encoded in runs of 8, as in training


class ClaimsAnalyzer(_spacy.SharedParse, ReadsTechniqueEncoder):
    """The `claims` analyser."""

    name = "claims"
    version = "claims-shared-minilm6-1"
    produces = ("claims",)
    requires: tuple[str, ...] = ()

    def __init__(self, threshold: float | None = None, model_dir: Path | None = None) -> None:
        super().__init__(threshold, model_dir)
        self.attributor = Attributor()

    @property
    def threshold(self) -> float:
        """The dev-tuned threshold, unless one was given."""
        given = self.given_threshold
        return self.model.heads.claim_threshold if given is None else given

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        """P(check-worthy) for loose sentences, read in runs of CONTEXT as one text each."""
        texts, spans = in_runs(sentences)
        return self.model.heads.checkworthiness(self.model.sentence_features(texts, spans, keep=False))

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        parsed = _spacy.parse([d.text for d in docs])
        sentences = [_candidates(d.text, sp) for d, sp in zip(docs, parsed, strict=True)]
        spans = [[(s, e) for s, e, _ in sents] for sents in sentences]
        scores = self.model.heads.checkworthiness(self.model.sentence_features([d.text for d in docs], spans))
        threshold = self.threshold
        out, row = [], 0
        for doc, sents in zip(docs, sentences, strict=True):
            doc_scores = scores[row : row + len(sents)]
            row += len(sents)
            claims = tuple(
                self.claim(doc.text, s, e, sent, float(score))
                for (s, e, sent), score in zip(sents, doc_scores, strict=True)
                if score >= threshold
            )
            out.append(Annotations(claims=claims))
        return out

    def claim(self, text: str, start: int, end: int, sent: Any, score: float) -> Claim:
        """One claim with its attribution."""
        found = self.attributor.attribute(sent, start, end)
        return Claim(
            start=start,
            end=end,
            text=text[start:end],
            score=score,
            quote=is_quote(text[start:end]),
            speaker=Span.of(text, found.start, found.end) if found else None,
            verb=found.verb if found else None,
        )


def in_runs(sentences: Sequence[str], size: int = CONTEXT) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Texts of `size` consecutive sentences each, space-separated, and every sentence's offsets
    in its text: how loose sentences are read, in training and in evaluation alike."""
    texts, spans = [], []
    for k in range(0, len(sentences), size):
        text, offsets = "", []
        for sentence in sentences[k : k + size]:
            text += " " if text else ""
            offsets.append((len(text), len(text) + len(sentence)))
            text += sentence
        texts.append(text)
        spans.append(offsets)
    return texts, spans


def _candidates(text: str, sp: Any) -> list[tuple[int, int, Any]]:
    return [
        (s, e, sent) for s, e, sent in _spacy.sentence_spans(text, sp) if len(text[s:e].split()) >= MIN_WORDS
    ]
