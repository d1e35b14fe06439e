"""Shared passages on a planted corpus: found, verified, incremental, persistent."""

from __future__ import annotations

import pytest
from corpus_fixtures import corpus, documents, fill, planted_ids
from sqlalchemy import func, select, update

from propscope.corpus import _text
from propscope.corpus import signatures as sigs
from propscope.corpus.index import indexed_count, update_index
from propscope.corpus.reuse import ALIGN_FLOOR, ReuseReport, find_reuse
from propscope.store import Store
from propscope.store.schema import reuse_signatures


@pytest.fixture
def found(store: Store) -> tuple[ReuseReport, dict[str, str]]:
    urls = fill(store)
    return find_reuse(store), urls


@pytest.mark.parametrize("kind", ["campaign", "slow", "syndication"])
def test_every_planted_passage_is_one_group(found: tuple[ReuseReport, dict[str, str]], kind: str) -> None:
    report, urls = found
    groups = {frozenset(d.id for d in g.documents) for g in report.groups}
    for planted in planted_ids(kind, urls):
        assert planted in groups


def test_paraphrases_are_not_reuse(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, urls = found
    for decoy in planted_ids("decoy", urls):
        assert all(len(decoy & {d.id for d in g.documents}) <= 1 for g in report.groups)


def test_nothing_unplanted_across_outlets(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, urls = found
    planted = set().union(*(planted_ids(k, urls) for k in ("campaign", "slow", "syndication")))
    cross_outlet = [frozenset(d.id for d in g.documents) for g in report.groups if len(g.outlets) > 1]
    assert set(cross_outlet) == planted
    footers = [g for g in report.groups if len(g.outlets) == 1]  # each outlet's boilerplate
    assert len(footers) == len(corpus().of_kind("footer"))


def test_first_publisher_and_spread(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, urls = found
    by_docs = {frozenset(d.id for d in g.documents): g for g in report.groups}
    for plant in corpus().of_kind("campaign"):
        group = by_docs[frozenset(urls[u] for u in plant.documents)]
        assert group.first.outlet == plant.outlets[plant.times.index(min(plant.times))]
        assert group.spread is not None
        assert abs(group.spread.total_seconds() - (max(plant.times) - min(plant.times)).total_seconds()) < 1
        assert _text.jaccard(_text.shingle_hashes(group.passage), _text.shingle_hashes(plant.passage)) > 0.5


def test_no_pair_below_the_threshold(found: tuple[ReuseReport, dict[str, str]], store: Store) -> None:
    """Every document of a group holds a passage that is a verified copy of another member's."""
    report, _ = found
    texts = {d.id: d.text for d in documents()}
    for group in report.groups:
        if len(group.outlets) < 2:
            continue
        best = {
            d.id: max(
                _text.jaccard(
                    _text.shingle_hashes(group.passage), _text.shingle_hashes(texts[d.id][p.start : p.end])
                )
                for p in _text.passages(texts[d.id])
            )
            for d in group.documents
        }
        assert min(best.values()) >= ALIGN_FLOOR
        assert group.similarity >= 0.5


def test_json_contract(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, _ = found
    data = report.to_json()
    group = data["groups"][0]
    assert set(group) >= {"passage", "documents", "first"}
    assert set(group["documents"][0]) == {"id", "outlet", "published"}
    assert group["first"] == group["documents"][0]


def test_index_is_incremental(store: Store) -> None:
    docs = documents()
    fill(store, docs[:250])
    assert update_index(store) == 250
    fill(store, docs[250:])
    assert update_index(store) == len(docs) - 250  # only the new ones are hashed
    assert update_index(store) == 0
    assert indexed_count(store) == len(docs)
    report = find_reuse(store)
    assert report.hashed == 0 and report.documents == len(docs)


def test_signatures_of_another_scheme_are_rehashed(store: Store) -> None:
    fill(store, documents()[:20])
    update_index(store)
    with store.engine.begin() as conn:
        conn.execute(update(reuse_signatures).values(scheme="old-scheme"))
    assert update_index(store) == 20
    with store.engine.connect() as conn:
        schemes = conn.execute(
            select(reuse_signatures.c.scheme, func.count()).group_by(reuse_signatures.c.scheme)
        ).all()
    assert [row[0] for row in schemes] == [sigs.SCHEME]


def test_near_duplicate_documents(store: Store) -> None:
    docs = documents()[:30]
    copy = docs[0].with_(text=docs[0].text + "\n\nRead more at our partner site.", outlet="copycat.example")
    fill(store, [*docs, copy])
    report = find_reuse(store)
    assert [{d.id for d in g.documents} for g in report.duplicates] == [{docs[0].id, copy.id}]


def test_empty_store(store: Store) -> None:
    report = find_reuse(store)
    assert report.groups == [] and report.duplicates == [] and report.documents == 0


@pytest.mark.postgres
def test_same_groups_on_postgres(pg_store: Store, store: Store) -> None:
    fill(pg_store)
    fill(store)
    on_pg = {frozenset(d.id for d in g.documents) for g in find_reuse(pg_store).groups}
    on_sqlite = {frozenset(d.id for d in g.documents) for g in find_reuse(store).groups}
    assert on_pg == on_sqlite


def test_jaccard_is_symmetric() -> None:
    a, b = (_text.shingle_hashes(t) for t in ("one two three four five six", "two three four five six seven"))
    assert _text.jaccard(a, b) == _text.jaccard(b, a) == pytest.approx(2 / 4)


def test_loaded_index_is_compact(store: Store) -> None:
    """In memory: 21 band keys (8 bytes) and 3 offsets (4 bytes) per passage, nothing else."""
    from propscope.corpus.index import load_index

    fill(store, documents()[:100])
    update_index(store)
    index = load_index(store)
    assert len(index) > 300
    assert index.nbytes / len(index) == 8 * sigs.BANDS + 3 * 4
