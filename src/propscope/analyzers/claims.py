"""Check-worthy claims: sentences a fact-checker should look at, and who makes them.

Every sentence is scored for check-worthiness by a small head on the technique encoder's hidden
states, pooled over the sentence, and a few text cues (trained on CheckThat! 2024 English;
models/techniques/SENTENCE_HEADS.md), so scoring costs no encoder pass beyond the technique
analyser's. Scores are calibrated probabilities; sentences at or above the threshold chosen by
cross-validation become claims, each with its speaker and reporting verb when
the parse shows one, and whether it quotes someone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propscope.analyzers import _spacy
from propscope.analyzers._attribution import Attribution, Attributor, is_quote
from propscope.analyzers.techniques import BATCH_DOCS, ReadsTechniqueEncoder, TechniqueModel
from propscope.document import Annotations, Claim, Document, Span
from propscope.models.sentence_heads import pool_mean_max

MIN_WORDS = 4  # shorter "sentences" are headings, bylines and debris
CONTEXT = 8  # loose sentences (an evaluation file) are encoded in runs of 8, as in training


class ClaimsAnalyzer(_spacy.SharedParse, ReadsTechniqueEncoder):
    """The `claims` analyser."""

    name = "claims"
    version = "claims-shared-minilm6-lr2"  # -lr2: calibrated logistic regression, mean+max+text
    produces = ("claims",)
    requires: tuple[str, ...] = ()

    def __init__(self, threshold: float | None = None, model_dir: Path | None = None) -> None:
        super().__init__(threshold, model_dir)
        self.attributor = Attributor()

    @property
    def threshold(self) -> float:
        """The threshold chosen by grouped cross-validation (SENTENCE_HEADS.md), unless one was given."""
        given = self.given_threshold
        return self.model.heads.claim_threshold if given is None else given

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        """P(check-worthy) for loose sentences, read in runs of CONTEXT as one text each."""
        texts, spans = in_runs(sentences)
        return self.checkworthiness(texts, spans, keep=False)

    def checkworthiness(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        """P(check-worthy) of every span of every text, flat and in order."""
        return self.model.heads.checkworthiness(*claim_inputs(self.model, texts, spans, keep))

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        parsed = _spacy.parse([d.text for d in docs])
        sentences = [_candidates(d.text, sp) for d, sp in zip(docs, parsed, strict=True)]
        spans = [[(s, e) for s, e, _ in sents] for sents in sentences]
        scores = self.checkworthiness([d.text for d in docs], spans)
        threshold = self.threshold
        out, row = [], 0
        for doc, sp, sents in zip(docs, parsed, sentences, strict=True):
            doc_scores = scores[row : row + len(sents)]
            row += len(sents)
            claimed = [k for k, score in enumerate(doc_scores) if score >= threshold]
            # every sentence is attributed: quotes and pronouns take their speaker from context
            found = self.attributor.document(doc.text, sp, sents) if claimed else []
            claims = tuple(
                self.claim(doc.text, sents[k][0], sents[k][1], float(doc_scores[k]), found[k])
                for k in claimed
            )
            out.append(Annotations(claims=claims))
        return out

    def attributed(self, text: str) -> list[Claim]:
        """Every candidate sentence of `text` as a claim of score 0, attributed: how the
        attribution rules are measured apart from check-worthiness (benchmarks/attribution.py)."""
        sp = _spacy.parse([text])[0]
        sents = _candidates(text, sp)
        found = self.attributor.document(text, sp, sents)
        return [self.claim(text, s, e, 0.0, a) for (s, e, _), a in zip(sents, found, strict=True)]

    def claim(self, text: str, start: int, end: int, score: float, found: Attribution | None) -> Claim:
        """One claim with its attribution (`quote` also marks unattributed quoted sentences)."""
        return Claim(
            start=start,
            end=end,
            text=text[start:end],
            score=score,
            quote=found.quote if found else is_quote(text[start:end]),
            speaker=Span.of(text, found.start, found.end) if found else None,
            verb=found.verb if found else None,
            speaker_actor=found.actor if found else None,
        )


def claim_inputs(
    model: TechniqueModel, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
) -> tuple[np.ndarray, list[str]]:
    """What the check-worthiness head reads for every span, flat and in order: the mean- and
    max-pooled hidden states (one encoder pass, reused when the technique analyser has just
    made it; `keep` as in `TechniqueModel.encode`) and the span's text. Training reads the same."""
    pooled = [
        pool_mean_max(enc.tokens.offsets, enc.hidden, list(doc_spans))
        for k in range(0, len(texts), BATCH_DOCS)
        for enc, doc_spans in zip(
            model.encode(texts[k : k + BATCH_DOCS], keep), spans[k : k + BATCH_DOCS], strict=True
        )
    ]
    width = 2 * int(model.config.get("hidden_size", 384))
    rows = np.concatenate(pooled) if pooled else np.zeros((0, width), dtype=np.float32)
    sentences = [text[s:e] for text, doc_spans in zip(texts, spans, strict=True) for s, e in doc_spans]
    return rows, sentences


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
