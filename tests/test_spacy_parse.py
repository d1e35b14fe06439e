"""The shared spaCy parse: background prefetch, one worker thread, errors surfacing."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from propscope.analyzers import _spacy
from propscope.errors import AnalyzerError


def test_prefetched_parse_equals_a_direct_parse() -> None:
    texts = [
        f"The minister said on day {n} that the border was closed. Nobody believed it." for n in range(3)
    ]
    _spacy.prefetch(texts)
    docs = _spacy.parse(texts)
    direct = [_spacy.nlp()(t) for t in texts]
    assert [[s.text for s in d.sents] for d in docs] == [[s.text for s in d.sents] for d in direct]
    assert [[(t.dep_, t.head.i) for t in d] for d in docs] == [
        [(t.dep_, t.head.i) for t in d] for d in direct
    ]


def test_parsing_runs_on_one_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    real = _spacy.nlp()

    class Spy:
        def pipe(self, texts: list[str], batch_size: int) -> Any:
            threads.add(threading.current_thread().name)
            return real.pipe(texts, batch_size=batch_size)

    monkeypatch.setattr(_spacy, "nlp", lambda: Spy())
    _spacy.prefetch(["A first text nobody parsed before, number 8812."])
    _spacy.parse(["A second text nobody parsed before, number 8813."])
    assert len(threads) == 1 and next(iter(threads)).startswith("propscope-spacy")


def test_a_failed_background_parse_raises_in_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def pipe(self, texts: list[str], batch_size: int) -> Any:
            raise AnalyzerError("E041 spacy: model not found")

    monkeypatch.setattr(_spacy, "nlp", lambda: Broken())
    text = "A text that the broken pipeline cannot parse, number 4411."
    _spacy.prefetch([text])
    with pytest.raises(AnalyzerError):
        _spacy.parse([text])
    monkeypatch.undo()
    assert _spacy.parse([text])[0].text == text  # nothing half-cached: a later parse works


RULER_CASES = (
    "I ain't gonna go, let's see. Y'all c'mon, we gotta leave now. There is a dog and there are two. "
    "But he did it, and I have had it. You do; it does. Whether or not it rains, that one is mine. "
    "The U.S. said it would not, because Washington's envoys had been told so.\n\n  Spaces   here."
)


def _attributes(doc: Any) -> list[tuple[str, ...]]:
    return [(t.pos_, str(t.morph), t.lemma_, t.tag_, t.dep_, t.ent_type_) for t in doc]


def _assert_same_as_the_ruler(text: str) -> None:
    """The parse runs the ruler's rules without its Matcher: every token must come out the same."""
    import spacy

    full = spacy.load(_spacy.MODEL, disable=["lemmatizer"])  # the ruler as spaCy runs it
    _spacy.clear_cache()
    assert _attributes(_spacy.parse([text])[0]) == _attributes(full(text))


def test_attribute_rules_set_what_spacys_attribute_ruler_sets() -> None:
    _assert_same_as_the_ruler(RULER_CASES)


def test_attribute_rules_on_the_specimen(specimen_text: str) -> None:
    _assert_same_as_the_ruler(specimen_text)
