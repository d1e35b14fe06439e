"""Outlet profiles: rates per 1,000 words, narratives, blamed actors, reuse, months, charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus_fixtures import fill
from typer.testing import CliRunner

from propscope.cli import app
from propscope.corpus.index import DocMeta
from propscope.corpus.outlets import build_profiles, compare
from propscope.corpus.reuse import ReuseGroup
from propscope.document import Annotations, Document, Entity, Narrative, Result, Span, TechniqueSpan
from propscope.store import Store

WORDS = "word " * 98 + "Loaded Language here."  # 100 words


def result(
    outlet: str,
    published: str,
    techniques: tuple[str, ...] = (),
    blamed: str | None = None,
    narrative: str | None = None,
) -> Result:
    doc = Document(text=WORDS + outlet + published, outlet=outlet, published=published)
    start = doc.text.index("Loaded")
    spans = tuple(TechniqueSpan(start, start + 6, "Loaded", t, 0.9) for t in techniques)
    entities = (Entity(blamed, "ORG", (Span.of(doc.text, 0, 4),), {"blamed": 1}, "blamed"),) if blamed else ()
    narratives = (Narrative("n1", narrative, 0.8),) if narrative else ()
    annotations = Annotations(
        techniques=spans, entities=entities, narratives=narratives, stats={"words": 100}
    )
    return Result(doc, annotations, {"stats": "1"})


@pytest.fixture
def results() -> list[Result]:
    return [
        result("alpha", "2024-01-05T10:00:00Z", ("Loaded_Language", "Loaded_Language"), "NATO", "West plots"),
        result("alpha", "2024-02-05T10:00:00Z", ("Doubt",), "NATO"),
        result("beta", "2024-01-07T10:00:00Z", (), None, "West plots"),
    ]


def test_rates_per_thousand_words(results: list[Result]) -> None:
    profiles = build_profiles(results)
    alpha = profiles["alpha"].to_json()
    assert alpha["articles"] == 2 and alpha["words"] == 200
    assert alpha["technique_rates"] == {"Doubt": 5.0, "Loaded_Language": 10.0}
    assert alpha["technique_rate"] == 15.0
    assert alpha["top_blamed"] == [{"actor": "NATO", "articles": 2}]
    assert alpha["top_narratives"] == [{"narrative": "West plots", "articles": 1}]
    assert [m["month"] for m in alpha["months"]] == ["2024-01", "2024-02"]
    assert alpha["months"][0]["technique_rate"] == 20.0
    assert list(profiles) == ["alpha", "beta"]  # most articles first


def test_reuse_in_and_out(results: list[Result]) -> None:
    t = [r.document for r in results]
    metas = tuple(DocMeta(d.id, d.outlet, d.published, None) for d in (t[0], t[2]))
    profiles = build_profiles(results, [ReuseGroup("shared", metas, 1.0)])
    assert profiles["alpha"].reuse_out == 1 and profiles["alpha"].reuse_in == 0
    assert profiles["beta"].reuse_in == 1 and profiles["beta"].reuse_out == 0


def test_compare(results: list[Result]) -> None:
    profiles = build_profiles(results)
    data = compare(profiles["alpha"], profiles["beta"])
    assert [o["outlet"] for o in data["outlets"]] == ["alpha", "beta"]
    assert data["technique_rate_difference"]["Loaded_Language"] == 10.0


def test_plots(results: list[Result], tmp_path: Path) -> None:
    from propscope.corpus import plots

    profiles = list(build_profiles(results).values())
    paths = plots.technique_chart(profiles, tmp_path, "techniques") + plots.month_chart(
        profiles[0], tmp_path, "alpha"
    )
    assert {p.suffix for p in paths} == {".png", ".svg", ".json"}
    assert all(p.stat().st_size > 200 for p in paths)
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    spec = json.loads((tmp_path / "techniques.vl.json").read_text())
    assert spec["$schema"].endswith("vega-lite/v5.json") and spec["data"]["values"]


def test_cli_outlets(store: Store, tmp_path: Path) -> None:
    fill(store)
    url = str(store.engine.url)
    runner = CliRunner()
    listed = runner.invoke(app, ["outlets", "--db", url, "--json"])
    assert listed.exit_code == 0, listed.output
    outlets = json.loads(listed.stdout)["outlets"]
    assert sum(o["articles"] for o in outlets) == 300
    assert sum(o["reuse"]["copied_by_others"] for o in outlets) > 0
    a, b = outlets[0]["outlet"], outlets[1]["outlet"]
    compared = runner.invoke(
        app, ["outlets", "--db", url, "--compare", a, b, "--plots", str(tmp_path), "--json"]
    )
    assert compared.exit_code == 0, compared.output
    data = json.loads(compared.stdout)
    assert [o["outlet"] for o in data["outlets"]] == [a, b]
    assert all(Path(p).exists() for p in data["plots"])


def test_cli_unknown_outlet(store: Store) -> None:
    fill(store)
    result = CliRunner().invoke(
        app, ["outlets", "--db", str(store.engine.url), "--compare", "nope", "x", "--no-reuse"]
    )
    assert result.exit_code == 2
    assert "no outlet named 'nope'" in result.output
