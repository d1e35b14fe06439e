"""The document model: ids, offsets on any Unicode text, and the JSON round trip."""

from __future__ import annotations

import json

import pytest

from propscope import (
    SCHEMA,
    Annotations,
    Claim,
    Document,
    Entity,
    Evidence,
    Narrative,
    Result,
    SchemaError,
    Span,
    SpanError,
    TechniqueSpan,
)

UNICODE_TEXTS = [
    "Plain ASCII text about a summit.",
    "He called it “a total disaster” — twice.",
    "Emoji first 🔥🔥 then the claim: they lied 🤥 again.",
    "中文新闻：外部势力 破坏 稳定。Then English.",
    "Line one\r\nLine two with CRLF\r\nLine three",
    "Combining e\u0301 and NBSP\u00a0here.",
]


@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_span_offsets_are_exact_on_unicode(text: str) -> None:
    doc = Document(text=text)
    for start in range(0, len(text) - 1, 3):
        span = doc.span(start, start + 2)
        assert span.text == text[start : start + 2]


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (3, 3), (5, 2), (0, 999)])
def test_bad_offsets_raise_coded_error(start: int, end: int) -> None:
    with pytest.raises(SpanError, match="E100"):
        Document(text="short text").span(start, end)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Same text\r\nhere", "Same text\nhere"),
        ("Same\u00a0text", "Same text"),
        ("  padded  ", "padded"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_id_is_stable_across_whitespace_and_normalisation(a: str, b: str) -> None:
    assert Document(text=a).id == Document(text=b).id


def test_id_changes_with_content() -> None:
    assert Document(text="one article").id != Document(text="another article").id


def test_document_is_immutable() -> None:
    doc = Document(text="text", meta={"k": 1})
    with pytest.raises(AttributeError):
        doc.text = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        doc.meta["k"] = 2  # type: ignore[index]


def test_with_recomputes_id_for_new_text() -> None:
    doc = Document(text="first", title="T")
    changed = doc.with_(text="second")
    assert changed.title == "T"
    assert changed.id == Document(text="second").id


def _full_result() -> Result:
    text = "Tokayev said “outside forces” did it 🔥.\r\nWashington’s puppets lied."
    doc = Document(
        text=text,
        title="T",
        author="A",
        outlet="O",
        url="https://example.org/a",
        published="2022-01-10",
        language="en",
        source="a.txt",
        meta={"k": [1, 2]},
    )
    speaker = doc.span(0, 7)
    annotations = Annotations(
        techniques=(TechniqueSpan(13, 28, text[13:28], "Loaded_Language", 0.91),),
        claims=(Claim(0, 39, text[0:39], 0.8, True, speaker, "said"),),
        entities=(Entity("United States", "GPE", (doc.span(41, 51),), {"blamed": 1}, "blamed"),),
        narratives=(
            Narrative("colour-revolution", "Colour revolution", 0.7, (Evidence(0, 39, text[0:39], 0.7),)),
        ),
        stats={"words": 10},
    )
    return Result(doc, annotations, {"stats": "stats-1"})


def test_result_json_round_trip() -> None:
    result = _full_result()
    data = json.loads(json.dumps(result.to_json()))
    assert data["schema"] == SCHEMA
    assert Result.from_json(data) == result


def test_result_json_has_contract_keys() -> None:
    data = _full_result().to_json()
    assert {"schema", "document", "techniques", "claims", "entities", "narratives", "stats"} <= set(data)
    assert {"id", "title", "author", "outlet", "url", "published", "language", "text"} <= set(
        data["document"]
    )
    assert set(data["techniques"][0]) == {"start", "end", "text", "technique", "score"}
    claim_keys = {"start", "end", "text", "score", "quote", "speaker", "verb", "speaker_actor"}
    assert set(data["claims"][0]) == claim_keys
    assert set(data["entities"][0]) == {
        "actor", "label", "mentions", "roles", "role", "techniques",
        "main_role", "fine_roles", "role_scores", "mention_roles",
    }
    assert set(data["narratives"][0]) == {"id", "title", "score", "evidence"}


@pytest.mark.parametrize(
    ("techniques", "order"),
    [
        ({}, []),
        ({"Doubt": 1, "Loaded_Language": 3, "Flag-Waving": 1}, ["Loaded_Language", "Doubt", "Flag-Waving"]),
    ],
)
def test_entity_techniques_round_trip_most_frequent_first(
    techniques: dict[str, int], order: list[str]
) -> None:
    entity = Entity("Ukraine", "GPE", (Span(0, 4, "Kyiv"),), {"blamed": 1}, "blamed", techniques)
    data = json.loads(json.dumps(entity.to_json()))
    assert list(data["techniques"]) == order
    assert Entity.from_json(data) == entity


@pytest.mark.parametrize("stored", [{}, {"techniques": None}])
def test_entity_stored_before_techniques_reads_back_with_none(stored: dict[str, object]) -> None:
    data = {
        "actor": "Ukraine",
        "label": "GPE",
        "mentions": [{"start": 0, "end": 4, "text": "Kyiv"}],
        "roles": {"blamed": 1},
        "role": "blamed",
        **stored,
    }
    entity = Entity.from_json(data)
    assert entity.techniques == {}
    assert entity.to_json()["techniques"] == {}


def test_result_stored_before_actor_techniques_reads_back() -> None:
    data = _full_result().to_json()
    del data["entities"][0]["techniques"]
    assert Result.from_json(data) == _full_result()


def test_from_json_rejects_other_schema() -> None:
    data = _full_result().to_json()
    data["schema"] = "propscope/0"
    with pytest.raises(SchemaError, match="E110"):
        Result.from_json(data)


def test_from_json_rejects_span_text_mismatch() -> None:
    data = _full_result().to_json()
    data["techniques"][0]["text"] = "something else"
    with pytest.raises(SpanError, match="E101"):
        Result.from_json(data)


@pytest.mark.parametrize("field", ["start", "end"])
def test_annotations_check_catches_out_of_range(field: str) -> None:
    span = Span(0, 4, "abcd")
    bad = Span(span.start, 99, "abcd") if field == "end" else Span(-3, span.end, "abcd")
    with pytest.raises(SpanError):
        Annotations(entities=(Entity("X", "ORG", (bad,)),)).check("abcd")
