"""Identical copies (issue 5): one article published byte for byte by several outlets is one
document id, yet reuse, coordination and outlet profiles see every outlet that published it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import reset_postgres
from corpus_fixtures import documents, fill
from sqlalchemy import func, select
from typer.testing import CliRunner

from propscope import api
from propscope.batch import run_batch
from propscope.cli import app
from propscope.corpus import synthetic
from propscope.corpus.coordination import coordinate
from propscope.corpus.reuse import find_reuse
from propscope.document import Document
from propscope.store import Store
from propscope.store.schema import sightings

T0 = datetime(2024, 3, 10, 6, 0)
ARTICLE = "\n\n".join(
    [
        "Harbour Watch understands that the fisheries board quietly renewed every trawler licence "
        "in the bay last night, ignoring its own inspectors and the warnings of the coast guard.",
        "Three captains told reporters on the quay that nobody had inspected their nets this year, "
        "and that the renewal letters arrived before any of them had even applied for one.",
        "The board did not answer questions about the licences on Thursday, and its chairman left "
        "the building through a side door while a crowd of dock workers waited outside in the rain.",
    ]
)
# (outlet, hours after T0), in the order the copies are read: not the order they were published.
COPIES = [("charlie.example", 3.0), ("alpha.example", 0.0), ("delta.example", 4.5), ("bravo.example", 1.5)]
BY_TIME = ["alpha.example", "bravo.example", "charlie.example", "delta.example"]

runner = CliRunner()


def record(outlet: str, hours: float) -> dict[str, Any]:
    when = T0 + timedelta(hours=hours)
    return {
        "title": "Licences renewed overnight",
        "text": ARTICLE,
        "outlet": outlet,
        "url": f"https://{outlet}/news/licences",
        "published": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


COPY_ID = Document(text=ARTICLE).id


def noise() -> list[dict[str, Any]]:
    """Organic articles plus slow reuse, a syndicated pair and paraphrase decoys: no campaign."""
    return synthetic.generate(60, 8, campaigns=0, seed=5).records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def sighting_count(url: str) -> int:
    with Store.open(url) as store, store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sightings)).scalar_one())


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'copies.db'}"


def campaigns(db: str) -> list[dict[str, Any]]:
    code, stdout, stderr = invoke("corpus", "coordination", "--db", db, "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["min_outlets"] == 3 and "window" in data
    found: list[dict[str, Any]] = data["campaigns"]
    return found


def assert_the_copy_campaign(db: str) -> None:
    (campaign,) = campaigns(db)
    assert campaign["outlets"] == BY_TIME
    assert campaign["first_outlet"] == "alpha.example"
    assert campaign["start"] == "2024-03-10T06:00:00Z"
    assert campaign["end"] == "2024-03-10T10:30:00Z"
    assert campaign["documents"] == [COPY_ID]
    assert campaign["passage"] == ARTICLE
    assert [s["outlet"] for s in campaign["sightings"]] == BY_TIME


def test_identical_copies_in_one_run_are_a_campaign(tmp_path: Path, db: str) -> None:
    mixed = noise()
    mixed[30:30] = [record(*c) for c in COPIES]  # among the noise, not at either end
    source = write_jsonl(tmp_path / "corpus.jsonl", mixed)
    code, _, stderr = invoke("ingest", str(source), "--db", db)
    assert code == 0, stderr
    assert "3 duplicates skipped" in stderr and "0 failed" in stderr
    assert_the_copy_campaign(db)
    with Store.open(db) as store:  # the document keeps the metadata it was first read with
        assert store.get(COPY_ID).document.outlet == "charlie.example"
        assert store.count() == 1 + len({Document(text=r["text"]).id for r in noise()})


@pytest.mark.parametrize(
    "runs",
    [
        [[0], [1], [2], [3]],  # every copy in a run of its own
        [[2, 0], [3, 1]],  # within a run the later copy is a skipped duplicate
    ],
)
def test_copies_from_separate_runs_are_a_campaign(tmp_path: Path, db: str, runs: list[list[int]]) -> None:
    write_jsonl(tmp_path / "noise.jsonl", noise())
    assert invoke("ingest", str(tmp_path / "noise.jsonl"), "--db", db)[0] == 0
    for number, picks in enumerate(runs):
        source = write_jsonl(tmp_path / f"run-{number}.jsonl", [record(*COPIES[i]) for i in picks])
        code, _, stderr = invoke("ingest", str(source), "--db", db)
        assert code == 0, stderr
    assert_the_copy_campaign(db)


def test_ingesting_the_same_file_again_adds_no_sightings(tmp_path: Path, db: str) -> None:
    source = write_jsonl(tmp_path / "corpus.jsonl", noise() + [record(*c) for c in COPIES])
    assert invoke("ingest", str(source), "--db", db)[0] == 0
    before = sighting_count(db)
    code, _, stderr = invoke("ingest", str(source), "--db", db)
    assert code == 0 and "3 duplicates skipped" in stderr
    assert sighting_count(db) == before
    with Store.open(db) as store:
        assert len(store.sightings(COPY_ID)) == len(COPIES)


def test_reuse_lists_the_copy_once_per_sighting(tmp_path: Path, db: str) -> None:
    source = write_jsonl(tmp_path / "corpus.jsonl", noise() + [record(*c) for c in COPIES])
    assert invoke("ingest", str(source), "--db", db)[0] == 0
    code, stdout, _ = invoke("corpus", "reuse", "--db", db, "--json")
    assert code == 0
    (group,) = [g for g in json.loads(stdout)["groups"] if any(d["id"] == COPY_ID for d in g["documents"])]
    assert [d["outlet"] for d in group["documents"]] == BY_TIME
    assert {d["id"] for d in group["documents"]} == {COPY_ID}
    assert group["first"] == {"id": COPY_ID, "outlet": "alpha.example", "published": "2024-03-10T06:00:00Z"}
    assert group["passage"] == ARTICLE and group["similarity"] == 1.0


def test_a_copy_that_shares_a_passage_joins_that_group(store: Store) -> None:
    """No second group for the copies: the group already about the document lists its sightings."""
    quoting = Document(
        text="A columnist wrote on Friday:\n\n" + ARTICLE.split("\n\n")[1] + "\n\nShe had no more to add.",
        outlet="echo.example",
        published="2024-03-11T09:00:00Z",
    )
    copies = [Document(text=ARTICLE, **{k: v for k, v in record(*c).items() if k != "text"}) for c in COPIES]
    store.save_documents([*copies, quoting])
    (group,) = find_reuse(store).groups
    assert [(d.id, d.outlet) for d in group.documents] == [(COPY_ID, o) for o in BY_TIME] + [
        (quoting.id, "echo.example")
    ]
    assert group.first.outlet == "alpha.example"


PLANTED = synthetic.generate(300, 12, 12, seed=11, identical=3)


@pytest.fixture
def planted(store: Store) -> dict[str, str]:
    return fill(store, documents(PLANTED.records))


def planted_sets(urls: dict[str, str], *kinds: str) -> dict[frozenset[str], synthetic.Plant]:
    return {frozenset(urls[u] for u in p.documents): p for p in PLANTED.of_kind(*kinds)}


def test_planted_identical_copies_are_reuse_and_duplicates(store: Store, planted: dict[str, str]) -> None:
    report = find_reuse(store)
    cross_outlet = {frozenset(d.id for d in g.documents) for g in report.groups if len(g.outlets) > 1}
    reused = (*synthetic.CAMPAIGN_KINDS, "quote", "syndication", "identical")
    assert cross_outlet == set(planted_sets(planted, *reused))
    duplicates = {frozenset(d.id for d in g.documents): g.outlets for g in report.duplicates}
    for ids, plant in planted_sets(planted, "identical").items():
        assert duplicates[ids] == sorted(plant.outlets)


@pytest.mark.parametrize("window", [None, timedelta(hours=72)])
def test_planted_identical_campaigns_are_found_exactly(
    store: Store, planted: dict[str, str], window: timedelta | None
) -> None:
    truth = planted_sets(planted, *synthetic.CAMPAIGN_KINDS, "identical")
    report = coordinate(find_reuse(store).groups, 3, window)
    found = {frozenset(d.id for d in c.documents): c for c in report.campaigns}
    assert set(found) == set(truth)
    for ids, plant in truth.items():
        assert found[ids].outlets[0] == plant.first_outlet
        if plant.kind == "identical":
            assert found[ids].outlets == plant.outlets  # planted in time order
            assert found[ids].passage == plant.passage  # the whole article: every paragraph is shared


def test_an_outlet_footer_under_a_copy_stays_one_outlets(store: Store, planted: dict[str, str]) -> None:
    """The copies carry their first publisher's footer; that footer is boilerplate, no campaign."""
    report = find_reuse(store)
    assert len(report.boilerplate) == len(PLANTED.of_kind("boilerplate"))
    copied = {planted[p.documents[0]] for p in PLANTED.of_kind("identical")}
    for group in report.groups:
        if any(d.id in copied for d in group.documents):
            assert {d.id for d in group.documents} == {next(iter(copied & {d.id for d in group.documents}))}


def test_outlet_profiles_count_the_copies(tmp_path: Path, db: str) -> None:
    source = write_jsonl(tmp_path / "corpus.jsonl", noise() + [record(*c) for c in COPIES])
    assert invoke("ingest", str(source), "--db", db)[0] == 0
    code, stdout, _ = invoke("outlets", "--db", db, "--json")
    assert code == 0
    profiles = {p["outlet"]: p for p in json.loads(stdout)["outlets"]}
    assert all(profiles[o]["articles"] == 1 for o in BY_TIME)
    assert profiles["alpha.example"]["reuse"] == {"copied_from_others": 0, "copied_by_others": 1}
    for outlet in BY_TIME[1:]:
        assert profiles[outlet]["reuse"] == {"copied_from_others": 1, "copied_by_others": 0}
        assert profiles[outlet]["first_published"] != profiles["alpha.example"]["first_published"]


def test_batch_records_the_copies_it_skips(tmp_path: Path, db: str) -> None:
    source = write_jsonl(tmp_path / "corpus.jsonl", noise()[:10] + [record(*c) for c in COPIES])
    report = run_batch([str(source)], "local", db=db, analyzers=["stats"], workers=0)
    assert (report.duplicates, report.failed, report.exit_code) == (3, 0, 0)
    assert_the_copy_campaign(db)
    with Store.open(db) as store:
        assert len(store.sightings(COPY_ID)) == len(COPIES)  # the worker's re-save added none


@pytest.mark.postgres
def test_same_campaign_on_postgres(tmp_path: Path, pg_url: str) -> None:
    reset_postgres(pg_url)
    first = write_jsonl(tmp_path / "first.jsonl", [*noise(), record(*COPIES[0])])
    rest = write_jsonl(tmp_path / "rest.jsonl", [record(*c) for c in COPIES[1:]])
    for source in (first, rest, rest):  # `propscope ingest`'s loop, with the store closed after
        with Store.open(pg_url) as store:
            report = api.run([str(source)], None, store)
        assert report.exit_code == 0 and report.skipped_duplicates == (0 if source == first else 2)
    assert sighting_count(pg_url) == len(noise()) + len(COPIES)
    assert_the_copy_campaign(pg_url)
