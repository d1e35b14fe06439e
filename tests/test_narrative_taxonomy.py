"""The `narrative_labels` analyser (SemEval-2025 Task 10 narratives), its head, the official
metric and `propscope eval narrative-taxonomy`.

Fixtures are invented here; no corpus text is copied. The test on English train skips without
../shared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from propscope.analyzers.narrative_taxonomy import (
    HEAD,
    OTHER,
    Decision,
    NarrativeLabelsAnalyzer,
    Taxonomy,
    TaxonomyHead,
    decide,
)
from propscope.cli import app
from propscope.document import Annotations, Document, Evidence, NarrativeLabel, Result
from propscope.errors import UsageError
from propscope.eval.narrative_taxonomy import (
    ArticleLabels,
    format_row,
    read_gold,
    samples_f1,
    scores,
    write_predictions,
)
from propscope.profiles import model_dir
from propscope.render import terminal_view, to_html

TASK10 = Path(__file__).parents[1].parent / "shared" / "data" / "semeval2025-task10"
FOLDER = model_dir("fast")
runner = CliRunner()

# A toy taxonomy in the data's shape: two narratives, one listed `X: Other`, one not.
TOY = Taxonomy(
    ("A: Alpha", OTHER, "B: Beta"),
    ("A: Alpha: one", "A: Alpha: two", "A: Alpha: Other", "B: Beta: three", OTHER),
)


def vector(values: dict[str, float]) -> np.ndarray:
    p = np.zeros(len(TOY.columns), dtype=np.float32)
    for label, value in values.items():
        p[TOY.index[label]] = value
    return p


@pytest.fixture(scope="module")
def head() -> TaxonomyHead:
    return TaxonomyHead.load(FOLDER)


# ---------------------------------------------------------------- the bundled head

def test_bundled_head_loads_with_the_scorers_label_lists(head: TaxonomyHead) -> None:
    tax = head.taxonomy
    assert len(tax.narrative_list) == 22 and OTHER in tax.narrative_list
    assert len(tax.subnarrative_list) == 91 and OTHER in tax.subnarrative_list
    assert "URW: Discrediting Ukraine: Rewriting Ukraine’s history" in tax.subnarrative_list  # U+2019 kept
    assert len(tax.columns) == 1 + 21 + 90 == head.weights.shape[1] == len(head.bias) == len(head.platt)
    assert head.weights.shape[0] == head.mean.shape[0] == 3 * 384
    assert head.config["encoder"] == NarrativeLabelsAnalyzer(model_dir=FOLDER).model.config["version"]
    assert 0 < head.rule.narrative < 1 and 0 < head.rule.subnarrative < 1
    assert (FOLDER / f"{HEAD}.npz").stat().st_size < 2_000_000


def test_a_head_fitted_on_another_encoder_is_refused(tmp_path: Path, head: TaxonomyHead) -> None:
    from propscope.analyzers import narrative_taxonomy as module

    for name in ("model.onnx", "tokenizer.json", "config.json", "tc_head.npz", f"{HEAD}.npz"):
        (tmp_path / name).symlink_to(FOLDER / name)
    (tmp_path / f"{HEAD}.json").write_text(json.dumps({**head.config, "encoder": "another"}), "utf-8")
    analyzer = NarrativeLabelsAnalyzer(model_dir=tmp_path)
    with pytest.raises(Exception, match="fitted on 'another'"):
        _ = analyzer.head
    module.load_head.cache_clear()


# ---------------------------------------------------------------- consistency rules

@pytest.mark.parametrize("fallback", ["other", "best"])
def test_no_narrative_over_its_threshold_is_other_alone(fallback: str) -> None:
    p = vector({OTHER: 0.8, "A: Alpha": 0.3, "A: Alpha: one": 0.9})
    found = decide(p, TOY, Decision(0.5, 0.5, fallback))
    assert found == [(OTHER, OTHER, pytest.approx(0.8), pytest.approx(0.8))]


def test_a_subnarrative_needs_its_narrative_and_children_over_threshold_are_kept() -> None:
    p = vector({
        "A: Alpha": 0.7, "A: Alpha: one": 0.6, "A: Alpha: two": 0.2, "B: Beta": 0.1, "B: Beta: three": 0.9,
    })
    found = decide(p, TOY, Decision(0.5, 0.5, "other"))
    # B's child alone is not enough: a subnarrative needs its narrative
    assert [(n, s) for n, s, *_ in found] == [("A: Alpha", "A: Alpha: one")]


@pytest.mark.parametrize(
    ("fallback", "want"),
    [("other", "A: Alpha: Other"), ("best", "A: Alpha: two")],
)
def test_a_narrative_without_a_child_over_threshold_gets_the_fallback(fallback: str, want: str) -> None:
    p = vector({"A: Alpha": 0.9, "A: Alpha: one": 0.1, "A: Alpha: two": 0.3, "A: Alpha: Other": 0.2})
    found = decide(p, TOY, Decision(0.5, 0.5, fallback))
    assert [(n, s) for n, s, *_ in found] == [("A: Alpha", want)]
    assert found[0][3] == pytest.approx(0.9)


def test_an_unlisted_residual_is_still_written_as_x_other() -> None:
    p = vector({"B: Beta": 0.9, "B: Beta: three": 0.1})
    found = decide(p, TOY, Decision(0.5, 0.5, "other"))
    assert found == [("B: Beta", "B: Beta: Other", pytest.approx(0.9), pytest.approx(0.9))]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=112, max_size=112), st.floats(0.05, 0.95), st.floats(0.05, 0.95),
       st.sampled_from(["other", "best"]))
def test_decisions_on_the_real_taxonomy_keep_the_rules(
    values: list[float], tn: float, ts: float, fallback: str
) -> None:
    tax = TaxonomyHead.load(FOLDER).taxonomy
    found = decide(np.array(values, dtype=np.float32), tax, Decision(tn, ts, fallback))
    narratives = {n for n, *_ in found}
    if OTHER in narratives:
        assert [(n, s) for n, s, *_ in found] == [(OTHER, OTHER)]
        return
    for narrative, sub, *_ in found:
        assert tax.parents.get(sub, sub.rsplit(": ", 1)[0]) == narrative
    assert narratives == {n for n in tax.narratives if values[tax.index[n]] >= tn}


# ---------------------------------------------------------------- file format and metric

def test_rows_are_written_aligned_and_other_as_the_taxonomy_writes_it(tmp_path: Path) -> None:
    rows = [
        ArticleLabels("x1.txt", ("A: Alpha",), ("A: Alpha: one", "A: Alpha: Other")),
        ArticleLabels("x2.txt", (OTHER,), (OTHER,)),
    ]
    assert format_row(rows[0], TOY.parents) == "x1.txt\tA: Alpha;A: Alpha\tA: Alpha: one;A: Alpha: Other\n"
    assert format_row(rows[1], TOY.parents) == "x2.txt\tOther\tOther\n"
    path = tmp_path / "pred.txt"
    write_predictions(path, rows, TOY.parents)
    assert read_gold(path) == rows


def test_samples_f1_on_a_hand_made_case() -> None:
    # article 1: G {a,b}, P {a} -> 2*1/3; article 2: G {Other}, P {Other} -> 1; article 3: no overlap -> 0
    mean, sd = samples_f1([{"a", "b"}, {"Other"}, {"c"}], [{"a"}, {"Other"}, {"d"}])
    assert mean == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert sd == pytest.approx(np.std([2 / 3, 1, 0]))
    assert samples_f1([set()], [{"a"}]) == (0.0, 0.0)


def test_scores_drop_unlisted_labels_and_match_by_id() -> None:
    gold = [
        ArticleLabels("1", ("A: Alpha",), ("A: Alpha: one", "A: Alpha: secret")),
        ArticleLabels("2", (OTHER,), (OTHER,)),
    ]
    predicted = [
        ArticleLabels("2", ("A: Alpha",), ("A: Alpha: Other",)),
        ArticleLabels("1", ("A: Alpha", "B: Beta"), ("A: Alpha: one", "B: Beta: Other")),
    ]
    got = scores(gold, predicted, TOY.narrative_list, TOY.subnarrative_list)
    # coarse: 1 -> 2/3, 2 -> 0; fine ("secret" and "B: Beta: Other" unlisted): 1 -> 1, 2 -> 0
    assert got["f1_coarse"] == pytest.approx(1 / 3)
    assert got["f1_fine"] == pytest.approx(0.5)
    with pytest.raises(UsageError, match="E429"):
        scores(gold, predicted[:1], TOY.narrative_list, TOY.subnarrative_list)


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        ("a.txt\tOther\tOther\nb.txt\tOther\n", "E425", 2),
        ("a.txt\tOther\tOther\r\n\r\na.txt\tOther\tOther\r\n", "E426", 3),
        ("a.txt\t \tOther\n", "E427", 1),
    ],
)
def test_bad_gold_lines_are_coded_errors_naming_file_and_line(
    tmp_path: Path, content: str, code: str, line: int
) -> None:
    path = tmp_path / "gold.txt"
    path.write_bytes(content.encode())
    with pytest.raises(UsageError, match=rf"{code} {re.escape(str(path))}:{line}:"):
        read_gold(path)


# ---------------------------------------------------------------- the analyser and its outputs

ARTICLE = (
    "Western sanctions will freeze Europe this winter\n\n"
    "Officials in Brussels admit that the sanctions against Russia hurt European families more than "
    "anyone else. Gas prices have tripled and factories are closing across Germany. "
    "The war in Ukraine was provoked by NATO expansion, the commentator said. "
    "Ordinary people are paying for the mistakes of their leaders.\n"
)
CLIMATE = (
    "Climate activists block the motorway again\n\n"
    "A small group of activists glued themselves to the road on Monday morning. "
    "Critics say the movement is funded by billionaires who fly private jets. "
    "The so-called experts keep changing their predictions about the weather.\n"
)
PLAIN = "Harbour opens new ferry terminal\n\nThe new terminal has twelve gates and a cafe. It opens in May.\n"


@pytest.fixture(scope="module")
def analysed() -> list[Annotations]:
    return NarrativeLabelsAnalyzer(model_dir=FOLDER).analyze([Document(t) for t in (ARTICLE, CLIMATE, PLAIN)])


def test_every_article_gets_labels_that_keep_the_rules(
    analysed: list[Annotations], head: TaxonomyHead
) -> None:
    for ann, text in zip(analysed, (ARTICLE, CLIMATE, PLAIN), strict=True):
        labels = ann.narrative_labels
        assert labels, "an article always gets a label, Other when nothing else"
        ann.check(text)
        if labels[0].narrative == OTHER:
            assert len(labels) == 1 and labels[0].subnarrative == OTHER and labels[0].evidence == ()
            continue
        for label in labels:
            assert label.narrative in head.taxonomy.narratives
            assert label.subnarrative.startswith(label.narrative + ": ")
            assert label.narrative_score >= head.rule.narrative
            assert 0 < len(label.evidence) <= 3
            assert all(len(e.text.split()) >= 5 for e in label.evidence)
            shown = [e.score for e in label.evidence]
            assert shown == sorted(shown, reverse=True)


def test_the_plain_article_is_other(analysed: list[Annotations]) -> None:
    assert [(x.narrative, x.subnarrative) for x in analysed[2].narrative_labels] == [(OTHER, OTHER)]


def test_the_war_article_is_a_war_narrative(analysed: list[Annotations]) -> None:
    assert {x.narrative.split(":")[0] for x in analysed[0].narrative_labels} == {"URW"}


def test_labels_round_trip_through_result_json(analysed: list[Annotations]) -> None:
    result = Result(Document(ARTICLE), analysed[0], {"narrative_labels": NarrativeLabelsAnalyzer.version})
    data = json.loads(json.dumps(result.to_json()))
    keys = {"narrative", "subnarrative", "score", "narrative_score", "evidence"}
    assert set(data["narrative_labels"][0]) == keys
    back = Result.from_json(data)
    assert [(x.narrative, x.subnarrative) for x in back.narrative_labels] == [
        (x.narrative, x.subnarrative) for x in analysed[0].narrative_labels
    ]
    assert back.narrative_labels[0].evidence[0].text in ARTICLE
    old = {k: v for k, v in data.items() if k != "narrative_labels"}
    assert Result.from_json(old).narrative_labels == ()


def hostile_result() -> Result:
    text = "Title\n\nThey say <script>alert(1)</script> is what Brussels wants for you."
    start = text.index("They")
    label = NarrativeLabel(
        "URW: Discrediting the West, Diplomacy", "URW: Discrediting the West, Diplomacy: The EU is divided",
        0.61, 0.74, (Evidence(start, len(text), text[start:], 0.5),),
    )
    return Result(Document(text), Annotations(narrative_labels=(label,)), {})


def test_html_report_shows_labels_escaped() -> None:
    page = to_html(hostile_result())
    assert "The EU is divided" in page and "URW: Discrediting the West, Diplomacy" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_text_report_shows_labels_and_other_in_words() -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(terminal_view(hostile_result()))
    other = Result(Document("x y z"), Annotations(narrative_labels=(NarrativeLabel(OTHER, OTHER, 0.9, 0.9),)))
    console.print(terminal_view(other))
    shown = console.export_text()
    assert "The EU is divided" in shown and "0.61" in shown
    assert "Other: none of the taxonomy's narratives" in shown


# ---------------------------------------------------------------- the eval command

def fixture_folder(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in (("T_2.txt", CLIMATE), ("T_1.txt", ARTICLE.replace("\n", "\r\n")), ("T_3.txt", PLAIN)):
        (docs / name).write_bytes(text.encode("utf-8"))
    gold = tmp_path / "gold.txt"
    gold.write_bytes(
        b"T_3.txt\tOther\tOther\r\n"
        b"T_1.txt\tURW: Negative Consequences for the West\t"
        b"URW: Negative Consequences for the West: Other\r\n"
        b"T_2.txt\tCC: Criticism of climate movement\tCC: Criticism of climate movement: Other\r\n"
    )
    return docs, gold


def test_eval_writes_one_official_line_per_article_sorted_by_id(tmp_path: Path, head: TaxonomyHead) -> None:
    docs, _ = fixture_folder(tmp_path)
    out = tmp_path / "pred.txt"
    args = ["eval", "narrative-taxonomy", "--documents", str(docs), "--predictions-out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = read_gold(out)
    assert [r.article for r in rows] == ["T_1.txt", "T_2.txt", "T_3.txt"]
    lines = out.read_text("utf-8").splitlines()
    for row, raw in zip(rows, lines, strict=True):
        narratives, subs = raw.split("\t")[1].split(";"), raw.split("\t")[2].split(";")
        assert len(narratives) == len(subs)  # aligned, as the official files are
        assert (OTHER in narratives) == (narratives == [OTHER]) == (subs == [OTHER])
        assert set(row.narratives) <= set(head.taxonomy.narrative_list)


def test_eval_with_gold_prints_both_scores_and_writes_in_gold_order(tmp_path: Path) -> None:
    docs, gold = fixture_folder(tmp_path)
    out = tmp_path / "pred.txt"
    args = ["eval", "narrative-taxonomy", "--documents", str(docs), "--predictions-out", str(out),
            "--gold", str(gold), "--profile", "fast", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["articles"] == 3 and 0 <= report["f1_fine"] <= 1 and 0 <= report["f1_coarse"] <= 1
    rows = read_gold(out)
    assert [r.article for r in rows] == ["T_3.txt", "T_1.txt", "T_2.txt"]
    want = scores(read_gold(gold), rows, TaxonomyHead.load(FOLDER).taxonomy.narrative_list,
                  TaxonomyHead.load(FOLDER).taxonomy.subnarrative_list)
    assert report["f1_coarse"] == pytest.approx(want["f1_coarse"])
    assert report["f1_fine"] == pytest.approx(want["f1_fine"])
    text = runner.invoke(app, args[:-1])
    assert "F1@coarse" in text.stdout and "F1@fine" in text.stdout


@pytest.mark.parametrize("case", ["bad line", "missing document", "no documents"])
def test_eval_refusals_exit_2_with_a_code(tmp_path: Path, case: str) -> None:
    docs, gold = fixture_folder(tmp_path)
    if case == "bad line":
        gold.write_bytes(gold.read_bytes() + b"T_4.txt\tOther\n")
        code = "E425"
    elif case == "missing document":
        (docs / "T_2.txt").unlink()
        code = "E429"
    else:
        docs = tmp_path / "empty"
        docs.mkdir()
        code = "E428"
    result = runner.invoke(app, ["eval", "narrative-taxonomy", "--documents", str(docs), "--predictions-out",
                                 str(tmp_path / "p.txt"), "--gold", str(gold)])
    assert result.exit_code == 2 and code in result.stderr


# ---------------------------------------------------------------- English train

@pytest.mark.skipif(not TASK10.is_dir(), reason="needs ../shared/data/semeval2025-task10 (Task 10 data)")
def test_on_english_train_the_fitted_head_beats_other_everywhere(tmp_path: Path) -> None:
    """On 24 training articles (in sample: a check of the head and the reader, not a figure)."""
    root = TASK10 / "train" / "EN"
    lines = (root / "subtask-2-annotations.txt").read_bytes().splitlines(keepends=True)[:24]
    subset = tmp_path / "gold.txt"
    subset.write_bytes(b"".join(lines))
    gold = read_gold(subset)
    docs = tmp_path / "docs"
    docs.mkdir()
    for row in gold:
        (docs / row.article).symlink_to(root / "raw-documents" / row.article)
    out = tmp_path / "p.txt"
    args = ["eval", "narrative-taxonomy", "--documents", str(docs), "--predictions-out", str(out),
            "--gold", str(subset), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    tax = TaxonomyHead.load(FOLDER).taxonomy
    other = scores(gold, [ArticleLabels(g.article, (OTHER,), (OTHER,)) for g in gold],
                   tax.narrative_list, tax.subnarrative_list)
    assert report["f1_fine"] > other["f1_fine"] and report["f1_coarse"] > other["f1_coarse"]


# ---------------------------------------------------------------- the web article view

class FakeLabels:
    """Stands in for the model on the web page: a hostile evidence sentence, or `Other`."""

    name = "narrtaxfake"
    version = "narrtaxfake-1"
    produces = ("narrative_labels",)
    requires: tuple[str, ...] = ()

    def analyze(self, docs: list[Document], prior: object = None) -> list[Annotations]:
        out = []
        for doc in docs:
            at = doc.text.find("<b>")
            if at < 0:
                out.append(Annotations(narrative_labels=(NarrativeLabel(OTHER, OTHER, 0.83, 0.83),)))
                continue
            end = doc.text.index(".", at) + 1
            evidence = (Evidence(at, end, doc.text[at:end], 0.5),)
            sub = "URW: Praise of Russia: Russia is a guarantor of peace"
            label = NarrativeLabel("URW: Praise of Russia", sub, 0.44, 0.71, evidence)
            out.append(Annotations(narrative_labels=(label,)))
        return out


@pytest.fixture
def labelled_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    from propscope import registry
    from propscope.web import create_app
    from propscope.web.service import Settings

    registry.register(FakeLabels.name, FakeLabels)
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'web.db'}", analyzers=["stats", FakeLabels.name])
    made = create_app(require_tokens=False, settings=settings)
    yield made
    made.state.bench.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_article_page_shows_task10_labels_escaped(labelled_app: object, anyio_backend: str) -> None:
    import httpx

    transport = httpx.ASGITransport(app=labelled_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        pages = []
        for text in ("Title\n\nThey say <b>Moscow keeps the peace</b> in the whole region.", PLAIN):
            home = await client.get("/")
            token = re.search(r'name="csrf" value="([^"]+)"', home.text)
            assert token
            posted = await client.post("/analyze", data={"csrf": token.group(1), "text": text})
            assert posted.status_code == 303, posted.text
            pages.append((await client.get(posted.headers["location"])).text)
    assert "URW: Praise of Russia" in pages[0] and "Russia is a guarantor of peace" in pages[0]
    assert "<b>Moscow" not in pages[0] and "&lt;b&gt;Moscow keeps the peace" in pages[0]
    assert "Other: none of the taxonomy's narratives cleared its threshold (P(Other) 0.83)" in pages[1]


def test_labels_are_stored_under_their_analyser_and_read_back(tmp_path: Path) -> None:
    from propscope.store import Store

    made = hostile_result()
    result = Result(made.document, made.annotations, {"narrative_labels": NarrativeLabelsAnalyzer.version})
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.save([result], {"narrative_labels": NarrativeLabelsAnalyzer.produces})
        back = store.get(result.document.id)
    finally:
        store.close()
    assert back.narrative_labels == result.narrative_labels
    assert back.analyzers["narrative_labels"] == NarrativeLabelsAnalyzer.version


def test_a_title_kept_apart_by_ingest_leads_the_article_as_in_training() -> None:
    from propscope.analyzers.narrative_taxonomy import article_features

    rng = np.random.default_rng(0)
    states, title = rng.normal(size=(4, 384)).astype(np.float32), rng.normal(size=384).astype(np.float32)
    assert np.allclose(article_features(states, title), article_features(np.vstack([title, states])))
    docs = [
        Document("The body says something about gas prices.", title="Gas prices"),
        Document("Gas prices\n\nThe body says something about gas prices.", title="Gas prices"),
        Document("The body says something about gas prices."),
    ]
    found = NarrativeLabelsAnalyzer(model_dir=FOLDER).titles(docs)
    assert set(found) == {docs[0].id} and found[docs[0].id].shape == (384,)
