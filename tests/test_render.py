"""Output formats: escaping, overlaps, SemEval lines, CSV, the actor table."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from propscope import Annotations, Document, Entity, Result, Span, TechniqueSpan, render

HOSTILE = (
    'Click <script>window.__xss=1</script><img src=x onerror="alert(1)"> '
    '<a href="javascript:alert(2)">here</a> now.'
)


def _result(text: str, spans: list[tuple[int, int, str]]) -> Result:
    techniques = tuple(TechniqueSpan(a, b, text[a:b], t, 0.9) for a, b, t in spans)
    return Result(Document(text=text, title="<b>title</b>"), Annotations(techniques=techniques))


def test_html_escapes_hostile_article_text() -> None:
    page = render.to_html(_result(HOSTILE, [(0, 5, "Loaded_Language")]))
    assert "<script>window" not in page
    assert 'onerror="alert' not in page
    assert 'href="javascript' not in page
    assert "&lt;script&gt;" in page
    assert "<b>title</b>" not in page
    assert "Content-Security-Policy" in page


def test_segments_keep_overlapping_spans() -> None:
    text = "the evil corrupt regime"
    result = _result(text, [(4, 16, "Loaded_Language"), (9, 23, "Name_Calling,Labeling")])
    pieces = render.segments(text, result.techniques)
    assert "".join(text[a:b] for a, b, _ in pieces) == text
    overlap = [active for a, b, active in pieces if text[a:b] == "corrupt"]
    assert {s.technique for s in overlap[0]} == {"Loaded_Language", "Name_Calling,Labeling"}
    page = render.to_html(result)
    assert page.count("<mark") == 3


def test_semeval_lines_are_tab_separated_and_end_exclusive() -> None:
    result = _result("a loaded word", [(2, 8, "Loaded_Language")])
    line = render.to_semeval([result]).strip().split("\t")
    assert line == [result.document.id, "Loaded_Language", "2", "8"]


def test_jsonl_is_one_object_per_line() -> None:
    results = [_result(f"text {i}", []) for i in range(3)]
    lines = render.to_jsonl(results).splitlines()
    assert [json.loads(line)["document"]["text"] for line in lines] == ["text 0", "text 1", "text 2"]


def test_csv_has_one_row_per_document() -> None:
    rows = list(
        csv.DictReader(io.StringIO(render.to_csv([_result("a loaded word", [(2, 8, "Loaded_Language")])])))
    )
    assert rows[0]["top_technique"] == "Loaded_Language"
    assert rows[0]["techniques"] == "1"


@pytest.mark.parametrize("text", [HOSTILE, "[bold red]not markup[/bold red] and [link=x]y[/link]"])
def test_terminal_view_prints_text_verbatim(text: str) -> None:
    console = Console(record=True, width=200, color_system=None)
    render.print_text([_result(text, [(0, 5, "Doubt")])], console)
    assert text in console.export_text().replace("\n", "")


def _with_actor(techniques: dict[str, int]) -> Result:
    text = "Kyiv, a puppet regime, lies."
    entity = Entity("Ukraine", "GPE", (Span.of(text, 0, 4),), {"blamed": 1}, "blamed", techniques)
    return Result(Document(text=text), Annotations(entities=(entity,)))


ACTOR_TECHNIQUES = {"Name_Calling,Labeling": 2, "<script>x</script>": 1}


@pytest.mark.parametrize(
    ("techniques", "shown"),
    [(ACTOR_TECHNIQUES, "Name calling or labelling ×2; <script>x</script> ×1"), ({}, "")],
)
def test_terminal_actor_table_lists_techniques(techniques: dict[str, int], shown: str) -> None:
    console = Console(record=True, width=200, color_system=None)
    render.print_text([_with_actor(techniques)], console)
    out = console.export_text()
    assert "techniques" in out
    assert shown in out


@pytest.mark.parametrize("techniques", [ACTOR_TECHNIQUES])
def test_html_actor_table_lists_techniques_escaped(techniques: dict[str, int]) -> None:
    page = render.to_html(_with_actor(techniques))
    assert "<th>techniques</th>" in page
    assert "<td>Name calling or labelling ×2; &lt;script&gt;x&lt;/script&gt; ×1</td>" in page
    assert "<script>x" not in page


@pytest.mark.parametrize(
    ("techniques", "cell"),
    [(ACTOR_TECHNIQUES, "Ukraine: Name_Calling,Labeling=2 <script>x</script>=1"), ({}, "")],
)
def test_csv_lists_techniques_per_actor(techniques: dict[str, int], cell: str) -> None:
    rows = list(csv.DictReader(io.StringIO(render.to_csv([_with_actor(techniques)]))))
    assert rows[0]["actors"] == "Ukraine"
    assert rows[0]["actor_techniques"] == cell


# ---------------------------------------------------------------- terminal safety (issue 13, D8)

ESC_TEXT = "Calm words.\r\nThen \x1b]0;owned\x07\x1b[2J a trap \x9b31m and the corrupt elites lie.\n"


def _hostile_result() -> Result:
    start = ESC_TEXT.index("corrupt elites")
    end = start + len("corrupt elites")
    doc = Document(
        text=ESC_TEXT, title="Title \x1b]8;;http://evil.example/\x1b\\[/]", author="A\x07", url="u\r\n"
    )
    spans = (TechniqueSpan(start, end, ESC_TEXT[start:end], "Loaded_Language", 0.9),)
    mention = (Span(start + 8, end, "elites"),)
    entities = (Entity("Elites\x1b[5m", "ORG", mention, {"blamed": 1}, role="blamed\x07"),)
    return Result(doc, Annotations(techniques=spans, entities=entities, stats={"words": 9}))


def test_terminal_view_prints_no_control_characters_and_no_markup() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=False, color_system=None)  # markup on
    render.print_text([_hostile_result()], console)
    shown = buffer.getvalue()
    assert not any(ch in shown for ch in "\x1b\x07\x9b\r")
    assert "\\x1b]0;owned\\x07" in shown and "\\x9b31m" in shown
    assert "[/]" in shown  # Text, not markup, even on a console that reads markup


def test_highlights_keep_their_offsets_around_escaped_characters() -> None:
    text = render.highlighted_text(_hostile_result())
    coloured = [s for s in text.spans if "on #" in str(s.style)]
    assert [text.plain[s.start : s.end] for s in coloured] == ["corrupt elites"]
    assert "\x1b" not in text.plain and "\r" not in text.plain

