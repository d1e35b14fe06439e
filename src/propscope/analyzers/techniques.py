"""The `techniques` analyser: finds fragments that use one of the 14 SemEval-2020 propaganda
techniques (span identification) and names the technique (technique classification).

One pass of the bundled int8 MiniLM encoder per window gives both the BIO tag probabilities and
the hidden states the TC head reads. The model keeps its last encodings, so the claims and
narratives analysers pool the same hidden states per sentence (`sentence_features`) instead of
encoding the article again. Runs on onnxruntime, tokenizers and numpy only.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np

from propscope import profiles
from propscope.document import Annotations, Document, TechniqueSpan, sort_spans
from propscope.errors import AnalyzerError
from propscope.models import technique_head as head
from propscope.models._files import require_encoder
from propscope.models.assessment import Assessor
from propscope.models.calibration import calibration_inputs, load_maps
from propscope.models.runtime import Tokens, WindowedEncoder
from propscope.models.sentence_heads import SentenceHeads, pool_sentences

MODEL_DIR = profiles.PROFILES["fast"].model_dir  # the bundled `fast` model (training scripts' default)
MODEL_FILES = ("model.onnx", "tokenizer.json", "config.json", "tc_head.npz")
# The -6 model; scores calibrated (calibration.json). Analysers add `+<profile>` (or the
# retrained folder's tag, `profiles.model_tag`) so stored results say which model made them.
VERSION = "techniques-minilm-6-cal1"
BATCH_DOCS = 16  # documents encoded together: enough windows to fill batches of 32
KEEP_ENCODED = 64  # documents: a pipeline batch or two, so later analysers reuse the pass
# Hidden states kept at most, in tokens (1.5 KB each): a 1.5 MB article has about 320k. Every
# text is kept for the analysers after the techniques one (re-encoding a long one twice more
# tripled its encoder time). A text over KEEP_MAX_TOKENS (about 450 KB) holds its hidden states
# in float16 and is let go once its pipeline batch is done (`release`), so a big document fits
# and its memory returns.
KEEP_TOKENS = 400_000
KEEP_MAX_TOKENS = 100_000


@dataclass(frozen=True, slots=True)
class Encoded:
    """One document run through the encoder: tokens, BIO probabilities, hidden states."""

    text: str
    tokens: Tokens
    probs: np.ndarray
    hidden: np.ndarray


class TechniqueModel:
    """The bundled model files, loaded once: ONNX encoder + SI head, numpy TC head, config."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
        if missing:
            raise AnalyzerError(AnalyzerError.E_MODEL.format(name="techniques", path=folder))
        self.config: dict[str, Any] = json.loads((folder / "config.json").read_text("utf-8"))
        self.labels: list[str] = list(self.config["labels"])
        self.threshold = float(self.config["si_threshold"])
        self.encoder = WindowedEncoder(
            folder / "model.onnx",
            folder / "tokenizer.json",
            window=int(self.config["window"]),
            stride=int(self.config.get("stride", 128)),
            by_lines=self.config.get("windows") == "lines",
            threads=threads,
        )
        self.tc = head.TCHead(folder / "tc_head.npz")
        self.calibration = load_maps(folder / "calibration.json")
        self.assessor = Assessor.load(folder)
        self.folder = folder
        self._kept: OrderedDict[str, Encoded] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], keep: bool = True) -> list[Encoded]:
        """Encode texts together (windows of all texts share batches); recent ones are reused.

        `keep=False` for loose texts (catalogue examples, evaluation sentences): kept, they
        would push out the articles that later analysers of the same batch are about to read.
        """
        with self._lock:
            found = {t: self._kept[t] for t in texts if t in self._kept}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            out = self.encoder.encode(missing, ["si_logits", "hidden"], half={"hidden": KEEP_MAX_TOKENS})
            for text, (tokens, o) in zip(missing, out, strict=True):
                found[text] = Encoded(text, tokens, head.softmax(o["si_logits"]), o["hidden"])
            with self._lock:
                if keep:
                    self._kept.update((t, found[t]) for t in missing)
                self._trim()
        return [found[t] for t in texts]

    def _trim(self) -> None:
        """Drop the oldest kept encodings beyond KEEP_ENCODED texts or KEEP_TOKENS tokens (the
        newest always stays: the analysers after this one are about to read it)."""
        tokens = sum(len(e.tokens) for e in self._kept.values())
        while len(self._kept) > 1 and (len(self._kept) > KEEP_ENCODED or tokens > KEEP_TOKENS):
            tokens -= len(self._kept.popitem(last=False)[1].tokens)

    def release(self, texts: Sequence[str]) -> None:
        """Let go of the kept encodings of those `texts` longer than KEEP_MAX_TOKENS tokens (the
        pipeline's `finish` hook, once every analyser has read them)."""
        with self._lock:
            for text in texts:
                if text in self._kept and len(self._kept[text].tokens) > KEEP_MAX_TOKENS:
                    del self._kept[text]

    def forget(self) -> None:
        """Drop kept encodings (benchmarks time the encoder, not the reuse)."""
        with self._lock:
            self._kept.clear()

    @cached_property
    def heads(self) -> SentenceHeads:
        """The sentence heads fitted on this encoder (claims and narratives read them).

        Heads fitted on another encoder, or on the same one read through other windows, would
        score without complaint and be wrong, so their recorded encoder must be this model.
        """
        heads = SentenceHeads.load(self.folder)
        refit = f"refit them with python -m propscope.training.sentence_heads --model {self.folder}"
        version = self.config.get("version")
        require_encoder(heads.config, version, "sentence heads", "the sentence heads were", refit)
        return heads

    def sentence_features(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        """Pooled hidden states for every span of every text, flat and in order (`keep` as in
        `encode`)."""
        rows = [
            pool_sentences(enc.tokens.offsets, enc.hidden, list(doc_spans))
            for k in range(0, len(texts), BATCH_DOCS)
            for enc, doc_spans in zip(
                self.encode(texts[k : k + BATCH_DOCS], keep), spans[k : k + BATCH_DOCS], strict=True
            )
        ]
        width = self.config.get("hidden_size", 384)
        return np.concatenate(rows) if rows else np.zeros((0, width), dtype=np.float32)

    def find_spans(self, enc: Encoded) -> list[tuple[int, int, float]]:
        """SI: character spans with their mean P(inside a technique)."""
        return head.decode_spans(
            enc.text,
            enc.tokens.offsets,
            enc.probs,
            self.threshold,
            min_chars=int(self.config.get("si_min_chars", 2)),
            min_score=float(self.config.get("si_min_score", 0.0)),
            join_gap=int(self.config.get("si_join_gap", 0)),
        )

    def classify(self, enc: Encoded, spans: list[tuple[int, int]]) -> np.ndarray:
        """TC: (len(spans), 14) technique probabilities for character spans of the text."""
        return self.tc.probabilities(head.span_inputs(enc.text, enc.tokens.offsets, enc.hidden, spans))

    def technique_spans(self, enc: Encoded) -> list[TechniqueSpan]:
        """SI then TC: each found span with its most likely technique.

        `score` is the calibrated probability that an annotator marks a technique there and
        `technique_score` that the named technique is theirs (models/calibration.py, fitted on
        held-out PTC articles). A folder without calibration.json (a fresh `propscope train`
        run) keeps the raw P(span) x P(technique | span) and no technique_score.
        """
        found = self.find_spans(enc)
        probs = self.classify(enc, [(s, e) for s, e, _ in found])
        spans = []
        for (start, end, p_span), row in zip(found, probs, strict=True):
            k = int(row.argmax())
            text, technique = enc.text[start:end], self.labels[k]
            if self.calibration is None:
                spans.append(TechniqueSpan(start, end, text, technique, p_span * float(row[k])))
                continue
            span_map, technique_map = self.calibration
            x = calibration_inputs(p_span, end - start, row)
            spans.append(TechniqueSpan(
                start, end, text, technique, span_map.probability(x), technique_map.probability(x)
            ))
        return spans


@cache
def load_model(folder: str = str(MODEL_DIR)) -> TechniqueModel:
    """The model in `folder`, loaded once per process."""
    return TechniqueModel(Path(folder))


def default_model_dir() -> Path:
    """$PROPSCOPE_TECHNIQUES_MODEL (a folder made by `propscope train techniques`) or the
    default profile's folder: `profiles.model_dir` decides, for every analyser alike."""
    return profiles.model_dir()


def versioned(base: str, folder: Path) -> str:
    """`base` plus the model folder's tag (`techniques-minilm-6-cal1+fast`): the store keys
    results by version, so results of two profiles or models never mix silently."""
    return f"{base}+{profiles.model_tag(folder)}"


class ReadsTechniqueEncoder:
    """Base of the analysers that pool the technique encoder's hidden states (claims,
    narratives): the model loads once per folder, shared with the techniques analyser, so its
    kept encodings are shared too. A threshold given here overrides the heads' tuned one.

    A folder retrained by `propscope train techniques --from-store` carries the shipped heads
    under `heads_refit_needed` (fitted on the shipped encoder, not on it): analysers that read
    heads refuse it here, when they are made, with E203 and the way out.
    """

    version: str
    reads_heads = True  # False for an analyser that reads no head of the model folder

    def __init__(self, threshold: float | None = None, model_dir: Path | None = None) -> None:
        self.model_dir = model_dir or default_model_dir()
        self.given_threshold = threshold
        self.version = versioned(type(self).version, self.model_dir)
        stale = profiles.read_config(self.model_dir).get("heads_refit_needed")
        if self.reads_heads and stale:
            name = getattr(self, "name", type(self).__name__)
            raise AnalyzerError(AnalyzerError.E_LOAD.format(name=name, reason=_stale(self.model_dir, stale)))

    @property
    def model(self) -> TechniqueModel:
        return load_model(str(self.model_dir))

    def finish(self, docs: Sequence[Document]) -> None:
        """The batch is done: let go of its long texts' hidden states (the pipeline's hook)."""
        self.model.release([d.text for d in docs])


def _stale(folder: Path, heads: object) -> str:
    return (
        f"{folder} is a retrained technique model; its heads ({heads}) were fitted on the encoder it "
        "was fine-tuned from, not on this one. Run only the analysers it serves "
        "(--analyzers stats,techniques) or refit the heads on it "
        f"(python -m propscope.training.sentence_heads --model {folder})"
    )


class TechniqueAnalyzer:
    """Propaganda technique spans for any document; the model loads on first use."""

    name = "techniques"
    version = VERSION
    produces: tuple[str, ...] = ("techniques",)
    requires: tuple[str, ...] = ()

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = model_dir or default_model_dir()
        self.version = versioned(VERSION, self.model_dir)
        self.profile = profiles.folder_profile(self.model_dir)  # once, not per document's assessment

    @property
    def model(self) -> TechniqueModel:
        return load_model(str(self.model_dir))

    def finish(self, docs: Sequence[Document]) -> None:
        """The batch is done: let go of its long texts' hidden states (the pipeline's hook)."""
        self.model.release([d.text for d in docs])

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        """One `Annotations` per document, technique spans sorted in reading order."""
        results = []
        for k in range(0, len(docs), BATCH_DOCS):
            chunk = docs[k : k + BATCH_DOCS]
            for enc in self.model.encode([d.text for d in chunk]):
                spans = sort_spans(self.model.technique_spans(enc))
                results.append(Annotations(techniques=spans, assessment=self.assess(enc.text, spans)))
        return results

    def assess(self, text: str, spans: Sequence[TechniqueSpan]) -> dict[str, Any]:
        """The article-level view (`result["assessment"]`): the calibrated probability that the
        article uses techniques at all, how densely, and which; empty for a model folder that
        carries no assessment map (a retrained model, until it is refitted)."""
        assessor = self.model.assessor
        if assessor is None:
            return {}
        return {
            **assessor.assess(text, [s.score for s in spans]),
            "techniques": dict(Counter(s.technique for s in spans).most_common()),
            "model": self.model.config.get("version"),
            "profile": self.profile,
        }
