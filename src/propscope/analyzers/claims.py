"""Check-worthy claims: sentences a fact-checker should look at, and who makes them.

Every sentence is scored for check-worthiness (trained on CheckThat! 2024 English); sentences at
or above the dev-tuned threshold become claims, each with its speaker and reporting verb when the
parse shows one, and whether it quotes someone. Two scorers ship:
- `claims` (default): MiniLM fine-tuned end to end (int8 ONNX), an encoder pass of its own;
- `claims_fast`: a small MLP head on the int8 MiniLM sentence embeddings that the narratives
  analyser computes anyway, so it costs no encoder pass. It scores higher on CT24 dev-test but
  misses reported statements in news copy ("X said that ...") that the fine-tuned model finds,
  so it is the throughput option, not the default.
Their figures are side by side in models/claims/MODEL_CARD.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from propscope.analyzers import _spacy
from propscope.analyzers._attribution import Attributor, is_quote
from propscope.document import Annotations, Claim, Document, Span
from propscope.models import encoder

MIN_WORDS = 4  # shorter "sentences" are headings, bylines and debris


class ClaimsAnalyzer(_spacy.SharedParse):
    """The `claims` analyser."""

    name = "claims"
    version = "claims-minilm-ct24-1"
    produces = ("claims",)
    requires: tuple[str, ...] = ()

    def __init__(self, threshold: float | None = None) -> None:
        config = self.config()
        self.threshold = float(config["threshold"] if threshold is None else threshold)
        self.attributor = Attributor()

    def config(self) -> dict[str, Any]:
        """The model's settings, with its tuned `threshold`."""
        return encoder.claims_model().config

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        """P(check-worthy) per sentence."""
        return encoder.checkworthiness(sentences)

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        parsed = _spacy.parse([d.text for d in docs])
        sentences = [_candidates(d.text, sp) for d, sp in zip(docs, parsed, strict=True)]
        flat = [d.text[s:e] for d, sents in zip(docs, sentences, strict=True) for s, e, _ in sents]
        scores = self.scores(flat)
        out, row = [], 0
        for doc, sents in zip(docs, sentences, strict=True):
            doc_scores = scores[row : row + len(sents)]
            row += len(sents)
            claims = tuple(
                self.claim(doc.text, s, e, sent, float(score))
                for (s, e, sent), score in zip(sents, doc_scores, strict=True)
                if score >= self.threshold
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


class FastClaimsAnalyzer(ClaimsAnalyzer):
    """`claims_fast`: an MLP head on the cached sentence embeddings the narratives use.

    One encoder pass serves both analysers. Better on CT24 dev-test than the default, weaker on
    reported statements in news (see models/claims/MODEL_CARD.md): an option for throughput.
    """

    name = "claims_fast"
    version = "claims-minilm-mlp-ct24-2"

    def config(self) -> dict[str, Any]:
        return encoder.claims_head().config

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        return encoder.checkworthiness_fast(sentences)


def _candidates(text: str, sp: Any) -> list[tuple[int, int, Any]]:
    return [
        (s, e, sent) for s, e, sent in _spacy.sentence_spans(text, sp) if len(text[s:e].split()) >= MIN_WORDS
    ]
