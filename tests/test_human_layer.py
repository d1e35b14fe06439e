"""Human layers: reviews imported beside the model layers, on SQLite and (when set up) PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from propscope.annotation.importing import import_reviews, text_sha256
from propscope.annotation.records import ReviewedDocument, ReviewedSpan
from propscope.document import Annotations, Document, Result, TechniqueSpan
from propscope.errors import AnnotationError, StoreError
from propscope.store import Store
from propscope.store.schema import analyses, human_layers, human_spans, technique_spans

TEXT = "The enemy is EVIL and everyone knows it. Officials blamed the West. We must act now."
OTHER = "A calm report on the harbour budget. The council met and agreed on the numbers."


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Store:
    """The same test on each backend: a fresh, migrated store."""
    name = "store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def span(text: str, phrase: str, label: str, layer: str = "technique",
         with_text: bool = True) -> ReviewedSpan:
    start = text.index(phrase)
    return ReviewedSpan(start, start + len(phrase), label, layer, phrase if with_text else "")


def analysed(db: Store, text: str = TEXT) -> Document:
    """Store `text` with one model technique span, as `propscope analyze` would."""
    doc = Document(text=text, title="t")
    start = text.index(text.split()[1])
    model = TechniqueSpan(start, start + len(text.split()[1]), text.split()[1], "Loaded_Language", 0.7)
    db.save([Result(doc, Annotations(techniques=(model,)), {"techniques": "t1"})])
    return doc


def review(doc: Document, *spans: ReviewedSpan, **fields: Any) -> ReviewedDocument:
    fields.setdefault("document_id", doc.id)
    fields.setdefault("source", "review.json:1")
    return ReviewedDocument(spans=spans, source_format="labelstudio", **fields)


def rows(db: Store, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def model_rows(db: Store) -> list[Any]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(analyses.c.payload, analyses.c.created_at))] + [
            tuple(r) for r in conn.execute(select(technique_spans))
        ]


@pytest.mark.parametrize("times", [3])
def test_reimporting_the_same_review_changes_nothing(db: Store, times: int) -> None:
    doc = analysed(db)
    reviewed = review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"))
    results = [import_reviews(db, [reviewed], "alice") for _ in range(times)]
    assert [len(r.added) for r in results] == [1] + [0] * (times - 1)
    assert [len(r.unchanged) for r in results] == [0] + [1] * (times - 1)
    assert rows(db, human_layers) == 1 and rows(db, human_spans) == 1
    (layer,) = db.human_layers()
    assert layer.annotator == "alice" and layer.document_id == doc.id and layer.text == TEXT
    assert layer.spans == (ReviewedSpan(13, 17, "Name_Calling,Labeling", "technique", "EVIL"),)
    assert layer.source_format == "labelstudio" and layer.imported_at.endswith("+00:00")


def test_a_changed_review_is_a_new_layer_and_the_latest_one_counts(db: Store) -> None:
    doc = analysed(db)
    first = review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"))
    second = review(doc, span(TEXT, "act now", "Slogans"))
    assert db.add_human_layer(first, "alice").added
    assert db.add_human_layer(second, "alice").added
    assert rows(db, human_layers) == 2  # the earlier review is kept, as a record
    (layer,) = db.human_layers("alice")
    assert [s.label for s in layer.spans] == ["Slogans"]


def test_two_annotators_are_kept_apart(db: Store) -> None:
    doc = analysed(db)
    import_reviews(db, [review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"))], "alice")
    bandwagon = span(TEXT, "everyone knows it", "Bandwagon,Reductio_ad_hitlerum")
    import_reviews(db, [review(doc, bandwagon)], "bob")
    assert [(layer.annotator, layer.spans[0].text) for layer in db.human_layers()] == [
        ("alice", "EVIL"), ("bob", "everyone knows it")
    ]
    assert [layer.annotator for layer in db.human_layers("bob")] == ["bob"]
    assert db.human_layers("carol") == []
    assert [layer.annotator for layer in db.document_human_layers(doc.id[:8])] == ["alice", "bob"]


def test_the_model_layer_is_untouched(db: Store) -> None:
    doc = analysed(db)
    before, result = model_rows(db), db.get(doc.id)
    import_reviews(db, [review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"))], "alice")
    assert model_rows(db) == before
    assert db.get(doc.id) == result


def test_offset_mismatch_names_document_and_span_and_stores_nothing(db: Store) -> None:
    doc = analysed(db)
    shifted = ReviewedSpan(14, 18, "Name_Calling,Labeling", "technique", "EVIL")  # one to the right
    report = import_reviews(db, [review(doc, shifted)], "alice")
    (failure,) = report.failures
    assert failure.code == "E718" and failure.source == "review.json:1"
    assert doc.id in failure.message and "14-18" in failure.message
    assert "covers 'VIL ' in the stored text, but the tool says it covers 'EVIL'" in failure.message
    assert rows(db, human_layers) == 0 and report.exit_code == 1


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (ReviewedSpan(70, 999, "Slogans"), "E717"),
        (ReviewedSpan(5, 5, "Slogans"), "E717"),
        (ReviewedSpan(-1, 3, "Slogans"), "E717"),
        (ReviewedSpan(0, 3, "Sloganeering"), "E719"),
        (ReviewedSpan(0, 3, "slogans"), "E719"),  # one spelling per class
        (ReviewedSpan(0, 3, "villain", "actor"), "E719"),
        (ReviewedSpan(0, 3, "claim", "frame"), "E720"),
    ],
)
def test_bad_spans_and_labels_are_coded_errors(db: Store, bad: ReviewedSpan, code: str) -> None:
    doc = analysed(db)
    with pytest.raises(AnnotationError, match=rf"^{code} review.json:1: document {doc.id}"):
        db.add_human_layer(review(doc, bad), "alice")
    assert rows(db, human_layers) == 0


def test_every_layer_is_kept_with_its_labels(db: Store) -> None:
    doc = analysed(db)
    spans = (span(TEXT, "EVIL", "Name_Calling,Labeling"), span(TEXT, "the West", "blamed", "actor"),
             span(TEXT, "Officials blamed the West.", "claim", "claim", with_text=False))
    db.add_human_layer(review(doc, *spans), "alice")
    (layer,) = db.human_layers()
    assert sorted((s.layer, s.label, s.text) for s in layer.spans) == [
        ("actor", "blamed", "the West"), ("claim", "claim", "Officials blamed the West."),
        ("technique", "Name_Calling,Labeling", "EVIL"),
    ]


def test_a_text_that_differs_from_the_stored_one_is_refused(db: Store) -> None:
    doc = analysed(db)
    crlf = TEXT.replace(". ", ".\r\n")  # same document id (normalised), other offsets
    report = import_reviews(db, [review(doc, span(crlf, "act now", "Slogans"), document_id=None, text=crlf)],
                            "alice")
    (failure,) = report.failures
    assert failure.code == "E716" and doc.id in failure.message
    assert f"character {TEXT.index('. ') + 1}" in failure.message


def test_bad_record_among_good_ones_costs_only_itself(db: Store) -> None:
    good, other = analysed(db), analysed(db, OTHER)
    items: list[ReviewedDocument | AnnotationError] = [
        review(good, span(TEXT, "EVIL", "Name_Calling,Labeling")),
        AnnotationError("E705 review.json:2: not a task (the importer's own error)"),
        review(Document(text="Never stored."), span("Never stored.", "Never", "Slogans"),
               source="review.json:3"),
        review(other, span(OTHER, "calm", "Loaded_Language"), source="review.json:4"),
    ]
    report = import_reviews(db, items, "alice")
    assert [f.code for f in report.failures] == ["E705", "E715"]
    assert report.failures[1].source == "review.json:3" and "review.json:3" in report.failures[1].message
    assert sorted(a.document_id for a in report.added) == sorted([good.id, other.id])
    assert report.summary() == "2 layers added, 0 unchanged, 2 failed" and report.exit_code == 1


@pytest.mark.parametrize("how", ["id", "sha256", "text"])
def test_documents_are_found_by_id_text_hash_or_text(db: Store, how: str) -> None:
    analysed(db, OTHER)
    doc = analysed(db)
    keys = {"id": {"document_id": doc.id}, "sha256": {"document_id": None, "text_sha256": text_sha256(TEXT)},
            "text": {"document_id": "0123456789abcdef0123", "text": TEXT}}[how]
    report = import_reviews(db, [review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"), **keys)], "alice")
    assert [a.document_id for a in report.added] == [doc.id]
    assert text_sha256(TEXT) == hashlib.sha256(TEXT.encode()).hexdigest()


@pytest.mark.parametrize(
    ("given", "recorded", "expected"),
    [("bob", "alice", "bob"), (None, "alice", "alice"), (None, None, "E721"), (None, " ", "E721"),
     ("x\x07y", None, "E722"), ("a" * 129, None, "E722")],
)
def test_annotator_from_file_overridden_by_option(db: Store, given: str | None, recorded: str | None,
                                                  expected: str) -> None:
    doc = analysed(db)
    report = import_reviews(db, [review(doc, annotator=recorded)], given)
    if expected.startswith("E"):
        assert [f.code for f in report.failures] == [expected]
    else:
        assert [a.annotator for a in report.added] == [expected]
        assert [layer.annotator for layer in db.human_layers()] == [expected]


def test_an_empty_review_is_a_layer_too(db: Store) -> None:
    """A reviewer who deletes every model span says "no technique here": that is gold too."""
    doc = analysed(db)
    assert db.add_human_layer(review(doc), "alice").added
    assert [layer.spans for layer in db.human_layers()] == [()]


def test_text_of_a_reviewed_document_is_never_replaced(db: Store) -> None:
    doc = Document(text=TEXT)
    db.save_documents([doc])  # stored, never analysed
    db.add_human_layer(review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling")), "alice")
    crlf = Document(text=TEXT.replace(". ", ".\r\n"))
    assert crlf.id == doc.id
    with pytest.raises(StoreError, match="E304"):
        db.save([Result(crlf, Annotations(), {"stats": "s1"})])
    assert db.human_layers()[0].text == TEXT


def test_deleting_a_document_deletes_its_layers(db: Store) -> None:
    doc = analysed(db)
    db.add_human_layer(review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling")), "alice")
    from propscope.store.schema import documents

    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(documents.delete())
    assert rows(db, human_layers) == 0 and rows(db, human_spans) == 0


@pytest.fixture
def many(db: Store) -> Iterator[Store]:
    for k in range(3):
        analysed(db, f"{OTHER} Number {k}.")
    yield db


def test_sha256_index_covers_every_stored_text(many: Store) -> None:
    index = many.text_sha256_index()
    assert len(index) == 3
    assert all(many.has_document(doc_id) for doc_id in index.values())
    assert not many.has_document("nope")


def test_the_text_hash_index_is_read_only_when_the_id_is_lost(
    db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = analysed(db)
    calls: list[int] = []
    real = db.text_sha256_index
    monkeypatch.setattr(db, "text_sha256_index", lambda: calls.append(1) or real())
    keyed = review(doc, text_sha256=text_sha256(TEXT), text=TEXT)
    assert [a.document_id for a in import_reviews(db, [keyed], "alice").added] == [doc.id]
    assert calls == []
    evil = span(TEXT, "EVIL", "Name_Calling,Labeling")
    lost = review(doc, evil, document_id=None, text_sha256=text_sha256(TEXT))
    report = import_reviews(db, [lost, lost], "bob")
    assert [a.document_id for a in report.added + report.unchanged] == [doc.id, doc.id]
    assert calls == [1]  # built once per import, not once per record


def test_returning_to_an_earlier_review_makes_it_current_again(db: Store) -> None:
    """v1, v2, then v1 again: the repeat is judged against the current layer (v2), so v1 is
    stored anew and is current; importing it once more changes nothing."""
    doc = analysed(db)
    v1 = review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"))
    v2 = review(doc, span(TEXT, "act now", "Slogans"))
    assert [db.add_human_layer(r, "alice").added for r in (v1, v2, v1, v1)] == [True, True, True, False]
    assert rows(db, human_layers) == 3
    (layer,) = db.human_layers("alice")
    assert [s.label for s in layer.spans] == ["Name_Calling,Labeling"]


def test_the_tools_review_time_orders_the_layers(db: Store) -> None:
    """Label Studio's review time is stored; the latest review (not the latest import) is
    current, and the same export imported again is a no-op even when it is not current."""
    doc = analysed(db)
    evil = span(TEXT, "EVIL", "Name_Calling,Labeling")
    slogan = span(TEXT, "act now", "Slogans")
    v2 = review(doc, slogan, meta={"reviewed_at": "2026-11-02T10:00:00.5+01:00"})
    v1 = review(doc, evil, meta={"reviewed_at": "2026-11-01T10:00:00Z"})
    assert db.add_human_layer(v2, "alice").added
    assert db.add_human_layer(v1, "alice").added  # an older export, imported later
    (layer,) = db.human_layers("alice")
    assert [s.label for s in layer.spans] == ["Slogans"]  # v2 was reviewed last
    assert layer.reviewed_at == "2026-11-02T09:00:00.500000+00:00"
    assert not db.add_human_layer(v1, "alice").added  # the same older export again: nothing
    assert rows(db, human_layers) == 2
    v1_anew = review(doc, evil, meta={"reviewed_at": "2026-11-03T08:00:00Z"})
    assert db.add_human_layer(v1_anew, "alice").added
    (layer,) = db.human_layers("alice")
    assert [s.label for s in layer.spans] == ["Name_Calling,Labeling"]
    assert layer.reviewed_at == "2026-11-03T08:00:00+00:00"


def test_unreadable_review_times_fall_back_to_the_import_time(db: Store) -> None:
    doc = analysed(db)
    reviewed = review(doc, span(TEXT, "EVIL", "Name_Calling,Labeling"), meta={"reviewed_at": "yesterday"})
    assert db.add_human_layer(reviewed, "alice").added
    (layer,) = db.human_layers("alice")
    assert layer.reviewed_at is None
