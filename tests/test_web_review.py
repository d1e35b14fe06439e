"""The article page with human layers: the switch between model and reviewer spans, and the
per-reviewer agreement figures, without a browser."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from test_web_pages import analysed_page

from propscope.annotation.records import HumanLayer, ReviewedDocument, ReviewedSpan
from propscope.document import TechniqueSpan
from propscope.web.review import changes

pytestmark = pytest.mark.anyio
HOSTILE = '<b onmouseover="x()">eve</b>'


def reviewed(text: str, *marks: tuple[str, str]) -> tuple[ReviewedSpan, ...]:
    spans = []
    for phrase, label in marks:
        start = text.index(phrase)
        spans.append(ReviewedSpan(start, start + len(phrase), label, "technique", phrase))
    return tuple(spans)


async def with_reviews(client: httpx.AsyncClient, app: Any) -> tuple[str, str]:
    page = await analysed_page(client)
    doc_id = page.url.path.rsplit("/", 1)[1]
    store = app.state.bench.store
    text = store.get(doc_id).document.text
    alice = reviewed(text, ("EVIL", "Name_Calling,Labeling"), ("We must act now.", "Slogans"))
    store.add_human_layer(ReviewedDocument(alice, document_id=doc_id, source_format="doccano"), "alice")
    eve = reviewed(text, ("everyone knows it", "Bandwagon,Reductio_ad_hitlerum"))
    store.add_human_layer(ReviewedDocument(eve, document_id=doc_id, source_format="labelstudio"), HOSTILE)
    return page.url.path, text


async def test_model_spans_by_default_with_a_link_per_reviewer(client: httpx.AsyncClient, app: Any) -> None:
    path, _ = await with_reviews(client, app)
    page = await client.get(path)
    assert page.text.count('<sup class="tag') == 5  # the model's five spans
    assert 'aria-current="page">Model' in page.text
    assert f'href="{path}?spans=human&amp;annotator=alice"' in page.text
    assert urlencode({"annotator": HOSTILE}) in page.text  # quoted in the link, nothing to escape
    assert HOSTILE not in page.text and "&lt;b onmouseover=" in page.text  # escaped, never markup
    twin = (await client.get(path + ".json")).json()
    assert twin["human"]["shown"] == "model" and len(twin["techniques"]) == 5
    assert [row["annotator"] for row in twin["human"]["layers"]] == sorted(["alice", HOSTILE])


@pytest.mark.parametrize(
    ("annotator", "tags", "technique"),
    [("alice", 2, "t-slogans"), (HOSTILE, 1, "t-bandwagon-reductio-ad-hitlerum")],
)
async def test_switching_shows_the_reviewers_spans(client: httpx.AsyncClient, app: Any, annotator: str,
                                                   tags: int, technique: str) -> None:
    path, _ = await with_reviews(client, app)
    page = await client.get(path, params={"spans": "human", "annotator": annotator})
    assert page.status_code == 200
    assert page.text.count('<sup class="tag') == tags
    assert re.search(rf'<mark class="hl {technique}', page.text)
    assert 'name="spans" value="human"' in page.text  # the filter form keeps the choice
    twin = (await client.get(path + ".json", params={"spans": "human", "annotator": annotator})).json()
    assert twin["human"]["shown"] == "human" and twin["human"]["annotator"] == annotator
    assert len(twin["techniques"]) == 5  # the twin's techniques stay the model's
    assert len(twin["legend"]) == tags


async def test_agreement_figures_per_reviewer(client: httpx.AsyncClient, app: Any) -> None:
    """alice marks "EVIL" (the model has it exactly) and "We must act now." (the model marks
    "act now" inside it): SI over the model's merged spans, TC 1 of 2 (Slogans is the model's
    label for the second)."""
    path, _ = await with_reviews(client, app)
    twin = (await client.get(path + ".json")).json()
    alice = next(row for row in twin["human"]["layers"] if row["annotator"] == "alice")
    assert alice["spans"] == {"technique": 2, "claim": 0, "actor": 0}
    # "EVIL" kept; "We must act now." is not the model's "act now" (other offsets): added; the
    # model's other four spans (both "EVIL"s count once each) removed
    assert alice["changes"] == {"kept": 1, "relabelled": 0, "removed": 4, "added": 1}
    assert alice["tc"]["micro_f1"] == pytest.approx(1.0)
    assert 0 < alice["si"]["precision"] < 1 and 0 < alice["si"]["recall"] <= 1
    page = await client.get(path)
    assert '<tr data-annotator="alice">' in page.text


async def test_human_without_layers_falls_back_to_the_model(client: httpx.AsyncClient) -> None:
    page = await analysed_page(client)
    shown = await client.get(page.url.path, params={"spans": "human"})
    assert shown.status_code == 200 and shown.text.count('<sup class="tag') == 5
    assert 'class="layers"' not in shown.text
    bad = await client.get(page.url.path + ".json", params={"spans": "everyone"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([(0, 4, "Doubt")], {"kept": 1, "relabelled": 0, "removed": 1, "added": 0}),
        ([(0, 4, "Slogans"), (5, 9, "Doubt")], {"kept": 1, "relabelled": 1, "removed": 0, "added": 0}),
        ([(0, 4, "Doubt"), (0, 4, "Slogans"), (20, 24, "Doubt")],
         {"kept": 1, "relabelled": 0, "removed": 1, "added": 2}),
        ([], {"kept": 0, "relabelled": 0, "removed": 2, "added": 0}),
    ],
)
def test_changes_compare_offsets_exactly(marks: list[tuple[int, int, str]], expected: dict[str, int]) -> None:
    text = "abcd efgh " * 3
    model = (TechniqueSpan(0, 4, "abcd", "Doubt", 0.5), TechniqueSpan(5, 9, "efgh", "Doubt", 0.5))
    spans = tuple(ReviewedSpan(a, b, label, "technique", text[a:b]) for a, b, label in marks)
    assert changes(model, HumanLayer("d", text, "alice", "", "doccano", spans)) == expected


async def test_no_si_figure_where_neither_side_marked_a_technique(
    client: httpx.AsyncClient, app: Any
) -> None:
    """Neither the model nor the reviewer marked a technique span: the table shows "—", the
    twin null, never 0.00 (which would read as total disagreement)."""
    page = await analysed_page(client, text="A calm report on the harbour budget. The council met today.")
    doc_id = page.url.path.rsplit("/", 1)[1]
    store = app.state.bench.store
    assert store.get(doc_id).techniques == ()
    store.add_human_layer(ReviewedDocument((), document_id=doc_id, source_format="doccano"), "alice")
    twin = (await client.get(page.url.path + ".json")).json()
    (alice,) = twin["human"]["layers"]
    assert alice["si"] is None and alice["tc"]["micro_f1"] is None
    shown = await client.get(page.url.path)
    row = shown.text.split('<tr data-annotator="alice">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="si-f1">—</td>' in row and "0.00" not in row
