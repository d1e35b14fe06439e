"""Narrative catalogue schema, matching with evidence, and corpus discovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from propscope.analyzers.narratives import ANALYZERS, NarrativesAnalyzer
from propscope.corpus import discover
from propscope.document import Claim, Document, Result
from propscope.narratives import (
    CATALOGUE_DIR,
    REQUIRED,
    CatalogueError,
    load_catalogue,
    load_file,
    problems,
)

LABELLED = Path(__file__).parent / "data" / "narratives_labelled.yaml"


@pytest.fixture(scope="module")
def analyzer() -> NarrativesAnalyzer:
    return NarrativesAnalyzer()


def test_catalogue_has_at_least_25_valid_narratives() -> None:
    files = sorted(CATALOGUE_DIR.glob("*.yaml"))
    assert len(files) >= 25
    for path in files:
        data = yaml.safe_load(path.read_text("utf-8"))
        assert problems(data) == [], path
        assert set(REQUIRED) <= set(data)
        assert path.stem == data["id"]
    assert len({e.id for e in load_catalogue()}) == len(files)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"id": "x"}, "missing key 'title'"),
        (
            {"id": "x", "title": "t", "description": "d", "examples": ["a"], "tags": [], "sources": []},
            "at least 4 examples",
        ),
    ],
)
def test_schema_problems_are_reported(tmp_path: Path, data: dict[str, object], problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogueError, match=f"E210 .*{problem}"):
        load_file(path)


def test_labelled_set_is_ours_and_points_at_the_catalogue() -> None:
    rows = yaml.safe_load(LABELLED.read_text("utf-8"))["sentences"]
    ids = {e.id for e in load_catalogue()} | {"none"}
    assert len(rows) >= 150
    assert {r["narrative"] for r in rows} <= ids
    examples = {ex for e in load_catalogue() for ex in e.examples}
    assert not examples & {r["text"] for r in rows}  # evaluation never sees the catalogue


def test_matching_with_evidence_offsets(analyzer: NarrativesAnalyzer) -> None:
    text = (
        "The weather was mild on Monday. "
        "The street protests were planned and paid for by Western embassies to overthrow the "
        "government, just as in Kyiv in 2014. The market reopened."
    )
    result = analyzer.analyze([Document(text)])[0]
    result.check(text)
    assert result.narratives, "no narrative found"
    top = result.narratives[0]
    assert top.id in {"colour-revolution", "maidan-coup"}
    assert top.score >= analyzer.threshold
    evidence = top.evidence[0]
    assert text[evidence.start : evidence.end] == evidence.text
    assert "Western embassies" in evidence.text


def test_neutral_text_matches_nothing(analyzer: NarrativesAnalyzer) -> None:
    text = "The library extended its opening hours. Children can borrow up to five books at once."
    assert analyzer.analyze([Document(text)])[0].narratives == ()


def test_specimen_colour_revolution(analyzer: NarrativesAnalyzer, specimen_text: str) -> None:
    found = {n.id: n for n in analyzer.analyze([Document(specimen_text)])[0].narratives}
    assert "colour-revolution" in found, sorted(found)
    assert found["colour-revolution"].evidence


def _result(text: str) -> Result:
    doc = Document(text)
    claim = Claim(0, len(text), text, 0.9)
    from propscope.document import Annotations

    return Result(doc, Annotations(claims=(claim,)))


def test_discover_clusters_recurring_claims(tmp_path: Path) -> None:
    biolab = [
        "Secret American biolabs in Ukraine are developing deadly viruses, the blogger wrote.",
        "The Pentagon is running secret biological laboratories in Ukraine to make viruses.",
        "American military biolabs in Ukraine produce dangerous viruses, a channel claimed.",
    ]
    other = [
        "The city council approved a new budget for road repairs and public parks this year.",
        "Local farmers expect a record harvest of wheat and barley after a rainy spring season.",
    ]
    clusters = discover.discover([_result(t) for t in biolab + other], min_cluster_size=3)
    assert len(clusters) == 1
    assert clusters[0].size == 3 and clusters[0].documents == 3
    assert {"biolabs", "ukraine", "viruses"} & set(clusters[0].keywords)
    assert clusters[0].nearest == "us-biolabs"
    written = discover.export(clusters, tmp_path / "draft.yaml")
    draft = yaml.safe_load(written[0].read_text())
    assert set(REQUIRED) <= set(draft) and draft["id"].startswith("discovered-")


def test_ctfidf_prefers_distinctive_words() -> None:
    keywords = discover.ctfidf_keywords(
        [["gas prices gas winter europe"], ["vaccine vaccine europe virus"]], top=1
    )
    assert keywords == [["gas"], ["vaccine"]]


def test_discover_command_reads_the_store(store: object, tmp_path: Path) -> None:
    from propscope.document import Annotations
    from propscope.store import Store

    assert isinstance(store, Store)
    texts = [
        "NATO keeps moving troops and missiles closer to the Russian border, the channel said.",
        "The alliance has moved its missiles and troops right up to Russia's border again.",
        "NATO troops and missiles are being deployed ever closer to the Russian border.",
    ]
    results = []
    for text in texts:
        doc = Document(text)
        claims = (Claim(0, len(text), text, 0.9),)
        results.append(Result(doc, Annotations(claims=claims), {"claims": "test-1"}))
    store.save(results)
    url = str(store.engine.url)
    report = discover.discover_command(url, 3, tmp_path / "drafts")
    assert "3 claims in 3 documents" in report
    assert "nato-encirclement" in report
    assert (tmp_path / "drafts" / "cluster-001.yaml").is_file()


@pytest.mark.parametrize(("name", "floor"), [("narratives", 0.40), ("narratives_shared", 0.43)])
def test_labelled_set_f1_floor(name: str, floor: float) -> None:
    """Release figures (0.43 and 0.46) are in benchmarks/results/narratives.json. They fell from
    0.79 / 0.74 with the cosine matchers: the calibrated layers follow EUvsDisinfo's keyword
    labels (held-out top-1 F1 0.61 -> 0.78), and our own 156 sentences label differently; a
    layer on cosines alone does no better here (0.44, docs/claims-actors-narratives.md)."""
    analyzer = ANALYZERS[name]()
    rows = yaml.safe_load(LABELLED.read_text("utf-8"))["sentences"]
    ids = [e.id for e in analyzer.matcher.entries]
    scores = analyzer.matcher.scores(analyzer.embed([r["text"] for r in rows]))
    tp = fp = fn = 0
    for row, line in zip(rows, scores, strict=True):
        best = int(line.argmax())
        predicted = ids[best] if line[best] >= analyzer.threshold else "none"
        tp += predicted != "none" and predicted == row["narrative"]
        fp += predicted != "none" and predicted != row["narrative"]
        fn += row["narrative"] != "none" and predicted != row["narrative"]
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= floor


def test_embedding_more_texts_than_the_cache_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    from propscope.models import encoder

    texts = [f"Sentence number {n} about the harbour strike." for n in range(5)]
    one_by_one = np.stack([encoder.embed([t])[0] for t in texts])
    encoder.clear_embeddings()
    monkeypatch.setattr(encoder, "EMBED_CACHE_SIZE", 2)
    together = encoder.embed(texts)
    assert together.shape == (5, 384)
    assert np.allclose(together, one_by_one, atol=0.05)  # int8 activations vary a little with the batch


def test_narratives_and_narratives_minilm_are_the_same_calibrated_matcher() -> None:
    default, minilm = ANALYZERS["narratives"](), ANALYZERS["narratives_minilm"]()
    assert default.version == minilm.version and default.threshold == minilm.threshold
    assert default.matcher.layer is not None and default.matcher.layer.config["embedding"] == "minilm"
    assert 0.0 < default.threshold < 1.0
