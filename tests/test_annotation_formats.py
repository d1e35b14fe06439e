"""The annotation tools' formats, checked with the tools' own libraries: Label Studio's SDK
(LabelInterface) validates our config and predictions, dkpro-cassis loads our INCEpTION zip,
spaCy's displaCy draws our span JSON; the importers read exports the tools wrote (golden files
in tests/data/annotation/, README.md there says where each comes from)."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import cassis
import pytest
from typer.testing import CliRunner

from propscope.annotation import _common, displacy, doccano, formats, inception, labelstudio
from propscope.annotation.records import ReviewedDocument, ReviewedSpan
from propscope.cli import app
from propscope.document import Annotations, Claim, Document, Entity, Result, Span, TechniqueSpan
from propscope.errors import AnnotationError
from propscope.store import Store

DATA = Path(__file__).parent / "data" / "annotation"
EMOJI_TEXT = "Crowds 🙂 gathered. The mayor calls protesters traitors.\r\nTrade fell 40% last year."
PLAIN_TEXT = "Every true patriot will back the plan. The minister said the budget doubled."


def at(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def make_result(
    text: str, title: str, outlet: str, technique: tuple[str, str], claim: str, actor: str
) -> Result:
    s, e = at(text, technique[0])
    c, d = at(text, claim)
    a, b = at(text, actor)
    annotations = Annotations(
        techniques=(TechniqueSpan(s, e, text[s:e], technique[1], 0.8123),),
        claims=(Claim(c, d, text[c:d], 0.71),),
        entities=(Entity(actor.title(), "NORP", (Span(a, b, text[a:b]),), role="blamed"),),
    )
    doc = Document(text=text, title=title, outlet=outlet)
    return Result(doc, annotations, {"techniques": "techniques.v1", "claims": "claims.v1"})


@pytest.fixture
def results() -> list[Result]:
    return [
        make_result(
            EMOJI_TEXT,
            "<script>alert(1)</script> Harbour",
            "Gazette",
            ("traitors", "Name_Calling,Labeling"),
            "Trade fell 40% last year.",
            "protesters",
        ),
        make_result(
            PLAIN_TEXT,
            "Patriots",
            "Herald",
            ("Every true patriot", "Flag-Waving"),
            "The minister said the budget doubled.",
            "minister",
        ),
    ]


def reviews(items: list[Any]) -> list[ReviewedDocument]:
    return [item for item in items if isinstance(item, ReviewedDocument)]


def errors(items: list[Any]) -> list[AnnotationError]:
    return [item for item in items if isinstance(item, AnnotationError)]


def model_rows(result: Result) -> set[tuple[int, int, str, str]]:
    return {(s.start, s.end, s.layer, s.label) for s in _common.model_spans(result)}


def review_rows(review: ReviewedDocument) -> set[tuple[int, int, str, str]]:
    return {(s.start, s.end, s.layer, s.label) for s in review.spans}


# ------------------------------------------------------------------------- Label Studio


@pytest.fixture
def interface() -> Any:
    # Imported, not importorskip'd: scripts/test.sh installs the SDK, and a missing SDK must fail
    # the run rather than skip the only check by Label Studio's own code.
    from label_studio_sdk import label_interface

    return label_interface.LabelInterface(labelstudio.label_config())


def test_label_config_is_valid_for_label_studio(interface: Any) -> None:
    interface.validate()  # raises LabelStudioValidationErrorSentryIgnored when invalid
    controls = {c.name: set(c.labels) for c in interface.controls}
    assert controls == {layer: set(labels) for layer, labels in _common.LABELS.items()}
    assert len(controls["technique"]) == 14
    assert [o.name for o in interface.objects] == ["text"]


def test_predictions_validate_with_label_studio_sdk(interface: Any, results: list[Result]) -> None:
    tasks = json.loads(labelstudio.export_tasks(results))
    assert len(tasks) == 2
    for task, result in zip(tasks, results, strict=True):
        for obj in interface.objects:
            assert isinstance(task["data"][obj.value_name], str)
        (prediction,) = task["predictions"]
        assert interface.validate_prediction(prediction, return_errors=True) == []
        assert prediction["model_version"] == "claims=claims.v1; techniques=techniques.v1"
        assert 0 <= prediction["score"] <= 1
        assert task["data"]["document_id"] == result.document.id
        found = {
            (r["value"]["start"], r["value"]["end"], r["from_name"], r["value"]["labels"][0])
            for r in prediction["result"]
        }
        assert found == model_rows(result)
        for region in prediction["result"]:
            value = region["value"]
            assert task["data"]["text"][value["start"] : value["end"]] == value["text"]


def test_label_studio_validator_catches_a_bad_label(interface: Any, results: list[Result]) -> None:
    """The check above can fail: the SDK refuses a label the config does not have."""
    prediction = json.loads(labelstudio.export_tasks(results))[0]["predictions"][0]
    prediction["result"][0]["value"]["labels"] = ["Not_A_Technique"]
    assert interface.validate_prediction(prediction, return_errors=True)


def test_emoji_offsets_are_code_points_in_label_studio_tasks(results: list[Result]) -> None:
    task = json.loads(labelstudio.export_tasks(results[:1]))[0]
    technique = next(r for r in task["predictions"][0]["result"] if r["from_name"] == "technique")
    assert (technique["value"]["start"], technique["value"]["end"]) == at(EMOJI_TEXT, "traitors")


def reviewed_export(results: list[Result]) -> list[dict[str, Any]]:
    """Our tasks as Label Studio exports them after review: annotations made from the
    predictions, one label changed, one span moved, one deleted, with Label Studio's fields."""
    tasks = json.loads(labelstudio.export_tasks(results))
    for number, task in enumerate(tasks, 1):
        task["id"] = number
        result = json.loads(json.dumps(task["predictions"][0]["result"]))
        task["annotations"] = [
            {
                "id": 100 + number,
                "completed_by": 1,
                "result": result,
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": "2026-12-01T10:00:00.000000Z",
                "updated_at": "2026-12-01T10:05:00.000000Z",
                "lead_time": 12.5,
                "task": number,
            }
        ]
    first = tasks[0]["annotations"][0]["result"]
    technique = next(r for r in first if r["from_name"] == "technique")
    technique["value"]["labels"] = ["Loaded_Language"]
    start, end = at(EMOJI_TEXT, "calls protesters traitors")
    technique["value"].update(start=start, end=end, text=EMOJI_TEXT[start:end])
    first.remove(next(r for r in first if r["from_name"] == "claim"))
    first.append({"id": "rel1", "type": "relation", "from_id": "a", "to_id": "b", "direction": "right"})
    return tasks


def test_label_studio_round_trip(tmp_path: Path, results: list[Result], interface: Any) -> None:
    tasks = reviewed_export(results)
    for task in tasks:
        annotation = {k: v for k, v in task["annotations"][0].items() if k == "result"}
        annotation["result"] = [r for r in annotation["result"] if r["type"] != "relation"]
        assert interface.validate_annotation(annotation)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    items = list(formats.IMPORTERS["labelstudio"](path))
    assert errors(items) == []
    first, second = reviews(items)
    start, end = at(EMOJI_TEXT, "calls protesters traitors")
    assert review_rows(first) == {
        (start, end, "technique", "Loaded_Language"),
        (*at(EMOJI_TEXT, "protesters"), "actor", "blamed"),
    }
    assert review_rows(second) == model_rows(results[1])
    assert first.document_id == results[0].document.id
    assert first.text == EMOJI_TEXT
    assert first.text_sha256 == _common.text_sha256(EMOJI_TEXT)
    assert first.annotator == "labelstudio-user-1"
    assert first.source_format == "labelstudio"
    assert first.meta["reviewed_at"] == "2026-12-01T10:05:00.000000Z"
    assert "task 1 (id 1), annotation 1" in first.source


def test_label_studio_bad_records_are_errors_and_reading_goes_on(
    tmp_path: Path, results: list[Result]
) -> None:
    tasks = reviewed_export(results)
    tasks[0]["annotations"][0]["result"][0]["value"]["labels"] = ["Sarcasm"]
    tasks.insert(1, {"id": 9, "data": {"image": "x.png"}, "annotations": []})
    cancelled = dict(tasks[2]["annotations"][0], id=300, was_cancelled=True)
    tasks[2]["annotations"].append(cancelled)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    items = list(labelstudio.read_export(path))
    bad = errors(items)
    assert bad[0].source.endswith(
        "task 1 (id 1), annotation 1, region " + tasks[0]["annotations"][0]["result"][0]["id"]
    )
    assert "E705" in str(bad[0]) and "'Sarcasm'" in str(bad[0])
    assert "E707" in str(bad[1]) and "task 2 (id 9)" in str(bad[1])
    assert len(bad) == 2
    (good,) = reviews(items)  # the cancelled (skipped) annotation is no review
    assert good.document_id == results[1].document.id


def _utf16(text: str, offset: int) -> int:
    return len(text[:offset].encode("utf-16-le")) // 2


def test_label_studio_utf16_offsets_are_converted_or_refused(tmp_path: Path, results: list[Result]) -> None:
    """A tool counting UTF-16 units (JavaScript, Java) is read right when the regions say which
    text they cover; offsets that fit neither count are refused, not shifted."""
    tasks = reviewed_export(results[:1])
    regions = tasks[0]["annotations"][0]["result"]
    expected = set()
    for region in regions:  # the whole annotation in UTF-16 units, as a JavaScript editor counts
        value = region.get("value", {})
        if "start" not in value:
            continue
        expected |= {(value["start"], value["end"], region["from_name"], label) for label in value["labels"]}
        value.update(start=_utf16(EMOJI_TEXT, value["start"]), end=_utf16(EMOJI_TEXT, value["end"]))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    (review,) = reviews(list(labelstudio.read_export(path)))
    assert review_rows(review) == expected
    region = next(r for r in regions if r["from_name"] == "technique")
    region["value"].update(start=region["value"]["start"] + 2, end=region["value"]["end"] + 2)
    path.write_text(json.dumps(tasks), encoding="utf-8")
    (error,) = errors(list(labelstudio.read_export(path)))
    assert str(error).startswith("E703") and "calls protesters" in str(error)


def _regions(*spans: tuple[int, int, str]) -> list[_common.Region]:
    return [
        _common.Region(f"f:1, region {n}", (s, e), "claim", "claim", q) for n, (s, e, q) in enumerate(spans)
    ]


def test_offsets_unit_is_decided_once_per_record() -> None:
    """On "😀aaaa" the UTF-16 span (2, 4) quoted "aa" is (1, 3) in code points, though (2, 4)
    also covers "aa": a region that fits only UTF-16 settles the unit for the whole record."""
    text = "😀aaaab"
    only_utf16 = (5, 7, "ab")  # UTF-16 5-7 is code points 4-6 "ab"; code points 5-7 are out of range
    spans = _common.reviewed_spans(text, _regions((2, 4, "aa"), only_utf16))
    assert [(s.start, s.end) for s in spans] == [(1, 3), (4, 6)]
    # code points settle it when a region fits only code points
    spans = _common.reviewed_spans(text, _regions((2, 4, "aa"), (0, 1, "😀")))
    assert [(s.start, s.end) for s in spans] == [(2, 4), (0, 1)]


def test_offsets_that_fit_both_units_differently_are_refused(tmp_path: Path) -> None:
    """Both readings fit every region and differ: E703 naming the region, never a guess."""
    with pytest.raises(AnnotationError) as caught:
        _common.reviewed_spans("😀aaaa", _regions((2, 4, "aa")))
    message = str(caught.value)
    assert message.startswith("E703") and "region 0" in message and "both" in message
    task = {"id": 1, "data": {"text": "😀aaaa"}, "annotations": [{"result": [{
        "id": "r1", "type": "labels", "from_name": "claim", "to_name": "text",
        "value": {"start": 2, "end": 4, "text": "aa", "labels": ["claim"]}}]}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    (error,) = list(labelstudio.read_export(path))
    assert isinstance(error, AnnotationError) and str(error).startswith("E703") and "region r1" in str(error)
    # before any astral character both readings are the same place: no ambiguity
    spans = _common.reviewed_spans("aa😀", _regions((0, 2, "aa")))
    assert [(s.start, s.end) for s in spans] == [(0, 2)]


@pytest.mark.parametrize(
    ("name", "annotator"),
    [
        ("labelstudio_previous_export.json", "annotator_from_past@project.com"),
        ("labelstudio_previous_export_unknown_completed_by.json", "labelstudio-user-99999"),
    ],
)
def test_label_studio_golden_exports_read(name: str, annotator: str, tmp_path: Path) -> None:
    """Label Studio's own export fixtures (an image task, so no text: E707, named) parse; with a
    text in their data, their annotation reads back with its annotator and no span (a choice)."""
    path = DATA / name
    (error,) = list(labelstudio.read_export(path))
    assert isinstance(error, AnnotationError)
    assert "E707" in str(error) and "task 1 (id 1234)" in str(error)
    raw = json.loads(path.read_text(encoding="utf-8"))
    task = raw[0] if isinstance(raw, list) else raw
    task["data"]["text"] = "A text."
    copy = tmp_path / name
    copy.write_text(json.dumps(raw), encoding="utf-8")
    (review,) = list(labelstudio.read_export(copy))
    assert isinstance(review, ReviewedDocument)
    assert review.annotator == annotator
    assert review.spans == ()
    assert review.meta["annotation_id"] == "5678"
    assert review.meta["reviewed_at"] == "2021-07-06T06:44:08.446371Z"


def test_label_studio_server_export_reads(interface: Any) -> None:
    """labelstudio_server_export.json: Label Studio 1.23.2's own JSON export of our tasks after a
    review through its API (make_labelstudio_export.py): relabelled and widened, kept, skipped."""
    path = DATA / "labelstudio_server_export.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for task in raw:  # the export lists prediction ids; each annotation holds the one it began from
        (prediction,) = (a["prediction"] for a in task["annotations"])
        assert task["predictions"] == [prediction["id"]]
        assert interface.validate_prediction(prediction, return_errors=True) == []
        assert {r["from_name"] for r in prediction["result"]} == {"technique", "claim", "actor"}
    items = list(labelstudio.read_export(path))
    assert errors(items) == []
    first, second = reviews(items)  # the third task's annotation was cancelled (skipped)
    text = raw[0]["data"]["text"]
    assert first.text == text and "🙂" in text and "\r\n" in text
    assert review_rows(first) == {
        (*at(text, "calls protesters traitors"), "technique", "Loaded_Language"),
        (*at(text, "protesters"), "actor", "blamed"),
    }
    assert first.document_id == raw[0]["data"]["document_id"]
    assert first.annotator == "labelstudio-user-1"
    assert first.meta["reviewed_at"] == raw[0]["annotations"][0]["updated_at"]
    assert {s.layer for s in second.spans} == {"technique", "claim", "actor"}


def test_label_studio_unreadable_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{"tasks": ', encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"E700 cannot read .* as a Label Studio export"):
        list(labelstudio.read_export(path))
    with pytest.raises(AnnotationError, match="E700"):
        list(labelstudio.read_export(tmp_path / "missing.json"))


# ------------------------------------------------------------------------------ doccano


def test_doccano_export_lines(results: list[Result]) -> None:
    lines = [json.loads(row) for row in doccano.export_jsonl(results).decode("utf-8").splitlines()]
    assert [line["document_id"] for line in lines] == [r.document.id for r in results]
    first = lines[0]
    assert first["text"] == EMOJI_TEXT
    labels = {tuple(triple) for triple in first["label"]}
    assert (*at(EMOJI_TEXT, "traitors"), "Name_Calling,Labeling") in labels
    assert (*at(EMOJI_TEXT, "protesters"), "actor:blamed") in labels
    assert (*at(EMOJI_TEXT, "Trade fell 40% last year."), "claim") in labels


def test_doccano_round_trip_through_its_export_shape(tmp_path: Path, results: list[Result]) -> None:
    """Our lines as doccano exports them: its `id` added, our keys kept as top-level metadata."""
    lines = [json.loads(row) for row in doccano.export_jsonl(results).decode().splitlines()]
    for number, line in enumerate(lines, 1):
        line["id"] = number
        line["Comments"] = []
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("carol.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    items = list(formats.IMPORTERS["doccano"](archive))
    first, _ = reviews(items)
    assert review_rows(first) == model_rows(results[0])
    assert first.annotator == "carol"
    assert first.document_id == results[0].document.id
    assert first.meta == {"doccano_id": "1"}
    assert "carol.jsonl:line 1" in first.source


def test_doccano_golden_export_written_by_doccano_code() -> None:
    """doccano_export.zip: written by doccano 1.8.4's own formatter and writer (pandas escapes
    '/' as '\\/'), one file per member."""
    items = list(doccano.read_export(DATA / "doccano_export.zip"))
    assert errors(items) == []
    by_user = {(r.annotator, r.meta["doccano_id"]): r for r in reviews(items)}
    alice = by_user[("alice", "41")]
    assert alice.text is not None and alice.text.startswith("Officials/critics clash 😀")  # written "\\/"
    assert "😀" in alice.text
    assert review_rows(alice) == {
        (56, 64, "technique", "Name_Calling,Labeling"),
        (45, 55, "actor", "blamed"),
        (66, 97, "claim", "claim"),
    }
    assert [s.text for s in alice.spans] == ["protesters", "traitors", "The port lost 40% of its trade."]
    assert ("bob", "42") not in by_user  # doccano wrote the example into bob's file; he did nothing
    assert alice.document_id == "4b9b47af651e1f665561"
    kept = {(r.annotator, r.meta["doccano_id"]): r for r in reviews(
        list(doccano.read_export(DATA / "doccano_export.zip", keep_empty=True)))}
    assert kept[("bob", "42")].spans == ()


def test_doccano_shipped_examples_parse() -> None:
    """doccano's own export examples (its UI shows them) parse; their labels (ORG, PERSON) are
    not propscope's, so each span is a named E705, line by line or record by record."""
    items = list(doccano.read_export(DATA / "doccano_example_sequence_labeling.jsonl"))
    assert len(items) == 3 and all(isinstance(i, AnnotationError) for i in items)
    assert "line 1" in str(items[0]) and "'ORG' is not a technique label" in str(items[0])
    (relations,) = list(doccano.read_export(DATA / "doccano_example_relation_extraction.jsonl"))
    assert "record 1" in str(relations) and "'ORG'" in str(relations)
    record = json.loads((DATA / "doccano_example_relation_extraction.jsonl").read_text())
    assert doccano._triples(record, "x")[0] == (0, 6, "ORG")


def test_doccano_bad_lines_are_errors_and_reading_goes_on(tmp_path: Path, results: list[Result]) -> None:
    good = doccano.export_jsonl(results[1:]).decode()
    path = tmp_path / "admin.jsonl"
    path.write_text(
        '{"text": 3}\nnot json\n{"text": "abc", "label": [[0, 9, "claim"]]}\n' + good, encoding="utf-8"
    )
    items = list(doccano.read_export(path))
    assert [str(e)[:4] for e in errors(items)] == ["E707", "E701", "E704"]
    assert "line 2" in str(errors(items)[1])
    (review,) = reviews(items)
    assert review.annotator is None  # a lone file names nobody; --annotator does
    assert review_rows(review) == model_rows(results[1])


# ---------------------------------------------------------------------------- INCEpTION


def open_zip(data: bytes) -> tuple[cassis.TypeSystem, dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        ts = cassis.load_typesystem(io.BytesIO(archive.read("TypeSystem.xml")))
        xmis = {n: archive.read(n).decode() for n in archive.namelist() if n.endswith(".xmi")}
    return ts, xmis


def test_inception_zip_opens_with_cassis_and_keeps_every_span(results: list[Result]) -> None:
    ts, xmis = open_zip(inception.export_zip(results))
    assert sorted(xmis) == sorted(f"{r.document.id}.xmi" for r in results)
    for result in results:
        cas = cassis.load_cas_from_xmi(xmis[f"{result.document.id}.xmi"], typesystem=ts)
        assert cas.sofa_string == result.document.text  # CRLF and emoji survive
        found = set()
        for layer, type_name in inception.LAYER_TYPES.items():
            for annotation in cas.select(type_name):
                assert (
                    annotation.get_covered_text() == result.document.text[annotation.begin : annotation.end]
                )
                found.add((annotation.begin, annotation.end, layer, annotation.label))
        assert found == model_rows(result)
        (meta,) = cas.select(inception.DOCUMENT_METADATA)
        assert meta.documentId == result.document.id
        technique = cas.select(inception.LAYER_TYPES["technique"])[0]
        assert technique.score == pytest.approx(0.8123, abs=1e-4)


def test_inception_cas_is_segmented_into_sentences_and_tokens(results: list[Result]) -> None:
    """INCEpTION shows sentences and anchors spans to tokens: both are in the CAS, and the
    model's spans start and end on token bounds."""
    ts, xmis = open_zip(inception.export_zip(results[:1]))
    cas = cassis.load_cas_from_xmi(next(iter(xmis.values())), typesystem=ts)
    sentences = [s.get_covered_text() for s in cas.select(inception.SENTENCE)]
    assert sentences == [
        "Crowds 🙂 gathered.",
        "The mayor calls protesters traitors.",
        "Trade fell 40% last year.",
    ]
    tokens = cas.select(inception.TOKEN)
    starts, ends = {t.begin for t in tokens}, {t.end for t in tokens}
    assert "🙂" in [t.get_covered_text() for t in tokens]
    for type_name in inception.LAYER_TYPES.values():
        for annotation in cas.select(type_name):
            assert annotation.begin in starts and annotation.end in ends


def test_inception_xmi_counts_utf16_units_as_java_does(results: list[Result]) -> None:
    """UIMA (Java) offsets are UTF-16 units: after the emoji they are one more than Python's."""
    _, xmis = open_zip(inception.export_zip(results[:1]))
    root = ET.fromstring(next(iter(xmis.values())))
    technique = next(el for el in root if el.tag.endswith("}Technique"))
    start, end = at(EMOJI_TEXT, "traitors")
    assert (int(technique.get("begin", "")), int(technique.get("end", ""))) == (start + 1, end + 1)


def test_inception_round_trip_as_project_export(tmp_path: Path, results: list[Result]) -> None:
    """Our zip laid out as INCEpTION's project export, one reviewer's XMI edited with cassis."""
    ts, xmis = open_zip(inception.export_zip(results))
    doc = results[0].document
    name = f"{doc.id}.xmi"
    cas = cassis.load_cas_from_xmi(xmis[name], typesystem=ts)
    technique = cas.select(inception.LAYER_TYPES["technique"])[0]
    technique.label = "Loaded_Language"
    cas.remove(cas.select(inception.LAYER_TYPES["claim"])[0])
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"source/{name}", xmis[name])  # the upload: the model's spans, no review
        zipped.writestr(f"annotation/{name}/INITIAL_CAS.xmi", xmis[name])
        zipped.writestr(f"annotation/{name}/dana.xmi", cas.to_xmi())
        zipped.writestr(f"annotation/{name}/TypeSystem.xml", ts.to_xml())
    items = list(formats.IMPORTERS["inception"](archive))
    assert errors(items) == []
    (review,) = reviews(items)
    assert review.annotator == "dana"
    assert review.document_id == doc.id
    assert review.text == doc.text
    assert review_rows(review) == {
        (*at(EMOJI_TEXT, "traitors"), "technique", "Loaded_Language"),
        (*at(EMOJI_TEXT, "protesters"), "actor", "blamed"),
    }


def test_inception_golden_project_export() -> None:
    """inception_project_export.zip: INCEpTION's layout written from its documented format (not
    by INCEpTION: see README.md); per-user zips with typesystem.xml, curation, INITIAL_CAS."""
    items = list(inception.read_export(DATA / "inception_project_export.zip"))
    assert errors(items) == []
    by_user = {r.annotator: r for r in reviews(items)}
    assert sorted(by_user) == ["alice", "curation"]
    text = by_user["alice"].text
    assert text is not None and "\r\n" in text and "🙂" in text
    rows = review_rows(by_user["alice"])
    assert (*at(text, "traitors and thugs"), "technique", "Name_Calling,Labeling") in rows
    assert (*at(text, "protesters"), "actor", "blamed") in rows
    assert len(rows) == 3
    assert by_user["alice"].document_id == "21ad988586b9c9261a21"


def test_inception_bad_files_are_errors_and_reading_goes_on(tmp_path: Path, results: list[Result]) -> None:
    data = inception.export_zip(results)
    folder = tmp_path / "export"
    folder.mkdir()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    (folder / "broken.xmi").write_text("<xmi:XMI", encoding="utf-8")
    (folder / "lost").mkdir()
    (folder / "lost" / "alone.xmi").write_text("<x/>", encoding="utf-8")
    items = list(inception.read_export(folder))
    assert len(reviews(items)) == 2
    codes = sorted(str(e)[:4] for e in errors(items))
    assert codes == ["E701", "E701"]  # the lost file finds the type system above it, then fails to parse
    assert any("broken.xmi" in str(e) for e in errors(items))


def test_inception_xmi_never_reads_external_entities(tmp_path: Path, results: list[Result]) -> None:
    """An XMI from elsewhere is untrusted: an external entity is not resolved (no file is read
    into the text), the record is refused."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    ts, _ = open_zip(inception.export_zip(results[:1]))
    xmi = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
        '<xmi:XMI xmlns:xmi="http://www.omg.org/XMI" xmlns:cas="http:///uima/cas.ecore" xmi:version="2.0">'
        '<cas:NULL xmi:id="0"/><cas:Sofa xmi:id="1" sofaNum="1" sofaID="_InitialView" mimeType="text" '
        'sofaString="&e;"/><cas:View sofa="1" members=""/></xmi:XMI>'
    )
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "TypeSystem.xml").write_text(ts.to_xml(), encoding="utf-8")
    (folder / "evil.xmi").write_text(xmi, encoding="utf-8")
    (item,) = list(inception.read_export(folder))
    assert isinstance(item, AnnotationError) and str(item).startswith("E701")
    assert "SECRET-CONTENT" not in str(item)


def test_inception_missing_type_system_is_named(tmp_path: Path, results: list[Result]) -> None:
    _, xmis = open_zip(inception.export_zip(results[:1]))
    archive = tmp_path / "bare.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, xmi in xmis.items():
            zipped.writestr(name, xmi)
    (error,) = list(inception.read_export(archive))
    assert isinstance(error, AnnotationError) and str(error).startswith(f"E708 {archive}:")


def test_inception_refuses_text_xml_cannot_hold() -> None:
    result = Result(Document(text="A form feed \x0c here."))
    with pytest.raises(AnnotationError, match=r"E709 document .* holds \\x0c at character 12"):
        inception.export_zip([result])


# ----------------------------------------------------------------------------- displaCy


def test_displacy_renders_our_json(results: list[Result]) -> None:
    spacy_displacy = pytest.importorskip("spacy.displacy")
    docs = json.loads(displacy.export_json(results))
    html = spacy_displacy.render(docs, style="span", manual=True, options=displacy.render_options())
    for label in ("Name_Calling,Labeling", "Flag-Waving", "claim", "actor:blamed"):
        assert label in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # the title is escaped
    assert "traitors" in html


def test_displacy_spans_cover_their_tokens(results: list[Result]) -> None:
    (doc,) = json.loads(displacy.export_json(results[:1]))
    span = next(s for s in doc["spans"] if s["label"] == "Name_Calling,Labeling")
    assert doc["tokens"][span["start_token"] : span["end_token"]] == ["traitors"]
    assert EMOJI_TEXT[span["start"] : span["end"]] == "traitors"
    claim = next(s for s in doc["spans"] if s["label"] == "claim")
    assert " ".join(doc["tokens"][claim["start_token"] : claim["end_token"]]) == "Trade fell 40 % last year ."


# ------------------------------------------------------------------------------ shared


def test_registries_have_the_formats() -> None:
    assert sorted(formats.EXPORTERS) == ["displacy", "doccano", "inception", "labelstudio"]
    assert sorted(formats.IMPORTERS) == ["doccano", "inception", "labelstudio"]
    with pytest.raises(AnnotationError, match="E702 unknown annotation format 'brat'"):
        formats.importer("brat")


@pytest.mark.parametrize("fmt", ["labelstudio", "doccano", "inception"])
def test_every_format_round_trips_the_model_spans(tmp_path: Path, results: list[Result], fmt: str) -> None:
    """What we export reads back with the same spans (as a review that kept every span)."""
    data = formats.EXPORTERS[fmt](results)
    path = tmp_path / f"export.{ {'labelstudio': 'json', 'doccano': 'jsonl', 'inception': 'zip'}[fmt] }"
    if fmt == "labelstudio":  # Label Studio exports a reviewer's kept predictions as annotations
        tasks = json.loads(data)
        for task in tasks:
            task["annotations"] = [{"result": task["predictions"][0]["result"], "completed_by": 2}]
        data = json.dumps(tasks).encode()
    path.write_bytes(data)
    found = reviews(list(formats.IMPORTERS[fmt](path)))
    assert [review_rows(r) for r in found] == [model_rows(r) for r in results]
    assert [r.document_id for r in found] == [r.document.id for r in results]


def test_reviewed_span_refuses_unknown_layers_and_labels() -> None:
    with pytest.raises(AnnotationError, match="E706 f:1: 'emotion' is not a propscope layer"):
        _common.reviewed_span("f:1", "abc", (0, 1), "emotion", "joy")
    with pytest.raises(AnnotationError, match="E705 f:1: 'hero' is not a actor label"):
        _common.reviewed_span("f:1", "abc", (0, 1), "actor", "hero")
    assert _common.reviewed_span("f:1", "abc", (1, 3), "claim", "claim") == ReviewedSpan(
        1, 3, "claim", "claim", "bc"
    )


# ---------------------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, results: list[Result]) -> str:
    url = f"sqlite:///{tmp_path / 'annotate.db'}"
    with Store.open(url) as store:
        extra = make_result(
            "The council hides its minutes. Doubt grows.",
            "Council",
            "Gazette",
            ("hides its minutes", "Doubt"),
            "Doubt grows.",
            "council",
        )
        store.save([*results, extra])
    return url


def test_cli_exports_label_studio_tasks_and_config(tmp_path: Path, db: str, interface: Any) -> None:
    out = tmp_path / "tasks.json"
    done = runner.invoke(app, ["export", "--format", "labelstudio", "--db", db, "--out", str(out)])
    assert done.exit_code == 0, done.output
    config = tmp_path / "tasks.config.xml"
    assert config.read_text(encoding="utf-8") == labelstudio.label_config()
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert len(tasks) == 3
    for task in tasks:
        assert interface.validate_prediction(task["predictions"][0], return_errors=True) == []


def test_cli_export_filters_like_list(db: str) -> None:
    done = runner.invoke(app, ["export", "--format", "doccano", "--db", db, "--outlet", "Gazette"])
    assert done.exit_code == 0, done.output
    titles = sorted(json.loads(row)["title"] for row in done.stdout.splitlines())
    assert titles == ["<script>alert(1)</script> Harbour", "Council"]
    done = runner.invoke(app, ["export", "--format", "jsonl", "--db", db, "--query", "patriot"])
    assert [json.loads(r)["document"]["title"] for r in done.stdout.splitlines()] == ["Patriots"]
    done = runner.invoke(app, ["export", "--format", "displacy", "--db", db, "--limit", "2", "--offset", "1"])
    assert len(json.loads(done.stdout)) == 2
    done = runner.invoke(app, ["export", "--format", "semeval", "--db", db])
    assert len(done.stdout.splitlines()) == 3  # no filter: every document, as before


def test_cli_inception_needs_out(tmp_path: Path, db: str) -> None:
    done = runner.invoke(app, ["export", "--format", "inception", "--db", db])
    assert done.exit_code == 2
    assert "E710 --format inception writes a zip: give --out FILE" in re.sub(r"\s+", " ", done.output)
    out = tmp_path / "review.zip"
    done = runner.invoke(
        app, ["export", "--format", "inception", "--db", db, "--out", str(out), "--outlet", "Herald"]
    )
    assert done.exit_code == 0, done.output
    _, xmis = open_zip(out.read_bytes())
    assert len(xmis) == 1


def test_cli_label_studio_to_stdout_says_where_the_config_is(db: str) -> None:
    done = runner.invoke(app, ["export", "--format", "labelstudio", "--db", db, "--limit", "1"])
    assert done.exit_code == 0, done.output
    (task,) = json.loads(done.stdout)
    assert task["predictions"][0]["result"]
    assert "--out FILE" in done.stderr


# ------------------------------------------------------------------ hostile zips (issue 18 review)


def _zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("tool", ["inception", "doccano"])
def test_zip_entry_past_the_cap_is_refused_naming_it(
    tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A highly compressible entry (a zip bomb in small) is refused with E711 naming the file and
    the entry, before it is read whole."""
    from propscope.annotation import _zip

    monkeypatch.setattr(_zip, "MAX_ENTRY_BYTES", 4096)
    name = "annotation/doc.xmi/alice.xmi" if tool == "inception" else "alice.jsonl"
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zip_of({name: b"a" * 200_000}))
    with pytest.raises(AnnotationError) as caught:
        list(formats.IMPORTERS[tool](path))
    message = str(caught.value)
    assert message.startswith("E711") and str(path) in message and name in message


def test_zip_entry_with_a_lying_header_cannot_pass_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap counts the bytes unpacked, not the size the header claims."""
    from propscope.annotation import _zip

    monkeypatch.setattr(_zip, "MAX_ENTRY_BYTES", 4096)
    monkeypatch.setattr(_zip, "_CHUNK", 1024)
    real = zipfile.ZipFile(io.BytesIO(_zip_of({"a.jsonl": b"a" * 10})))
    info = real.infolist()[0]  # the header says 10 bytes; the stream gives far more
    monkeypatch.setattr(real, "open", lambda *_: io.BytesIO(b"a" * 100_000))
    with pytest.raises(AnnotationError, match="E711"):
        _zip._read(tmp_path / "x.zip", real, info, "a.jsonl", _zip.Budget())


def test_zip_total_and_entry_count_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from propscope.annotation import _zip

    path = tmp_path / "many.zip"
    path.write_bytes(_zip_of({f"u{i}.jsonl": b"x" * 3000 for i in range(5)}))
    monkeypatch.setattr(_zip, "MAX_TOTAL_BYTES", 10_000)
    with pytest.raises(AnnotationError, match="E712") as caught:
        list(doccano.read_export(path))
    assert "u3.jsonl" in str(caught.value)
    monkeypatch.setattr(_zip, "MAX_TOTAL_BYTES", 10**9)
    monkeypatch.setattr(_zip, "MAX_ENTRIES", 3)
    with pytest.raises(AnnotationError, match="E713"):
        list(doccano.read_export(path))


def test_inception_reads_only_the_entries_it_uses(tmp_path: Path, results: list[Result]) -> None:
    """The uploaded files under source/ and unrelated entries are never unpacked: a broken one
    there does not stop the import."""
    good = zipfile.ZipFile(io.BytesIO(inception.export_zip(results)))
    entries = {name: good.read(name) for name in good.namelist()}
    data = _zip_of({**entries, "source/big.txt": b"z" * 1000, "notes.txt": b"n"})
    # corrupt source/big.txt's data in place (its CRC no longer matches): never read, never noticed
    at_data = data.index(zlib_compress_marker(data, "source/big.txt"))
    broken = data[:at_data] + b"\x00" * 8 + data[at_data + 8 :]
    path = tmp_path / "export.zip"
    path.write_bytes(broken)
    assert len(reviews(list(inception.read_export(path)))) == len(results)


def zlib_compress_marker(data: bytes, name: str) -> bytes:
    """The first bytes of the entry's stored (compressed) data in the zip `data`."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo(name)
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    return data[offset : offset + 8]


def _encrypted_zip() -> bytes:
    raw = bytearray(_zip_of({"alice.jsonl": b'{"text": "x", "label": []}\n'}))
    # set the "encrypted" flag bit in the local and the central header
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        index = raw.index(signature)
        raw[index + flag_at] |= 1
    return bytes(raw)


def _bad_method_zip() -> bytes:
    raw = bytearray(_zip_of({"alice.jsonl": b'{"text": "x", "label": []}\n'}))
    for signature, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        index = raw.index(signature)
        raw[index + method_at] = 99  # AES or some other method zipfile cannot unpack
    return bytes(raw)


def _corrupt_data_zip() -> bytes:
    raw = _zip_of({"alice.jsonl": b'{"text": "xyz", "label": []}\n' * 50})
    marker = zlib_compress_marker(raw, "alice.jsonl")
    at_data = raw.index(marker)
    return raw[:at_data] + b"\xff" * 6 + raw[at_data + 6 :]


@pytest.mark.parametrize("tool", ["inception", "doccano"])
@pytest.mark.parametrize("make", [_encrypted_zip, _bad_method_zip, _corrupt_data_zip])
def test_broken_zips_are_e700_naming_the_file(tool: str, make: Any, tmp_path: Path) -> None:
    data = make()
    if tool == "inception":
        data = data.replace(b"alice.jsonl", b"a/alice.xmi")  # same length, an entry INCEpTION reads
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    with pytest.raises(AnnotationError) as caught:
        list(formats.IMPORTERS[tool](path))
    assert str(caught.value).startswith("E700") and str(path) in str(caught.value)
    assert "broken or unsupported zip" in str(caught.value)


def test_deeply_nested_json_is_e700(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    for tool, name, text in (("labelstudio", "tasks.json", deep), ("doccano", "all.jsonl", deep + "\n\n")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(AnnotationError) as caught:
            list(formats.IMPORTERS[tool](path))
        assert str(caught.value).startswith("E700") and str(path) in str(caught.value)


# ------------------------------------------------------- reviews nobody did (issue 18 review)


def _project_export(results: list[Result], users: dict[str, Result | None], project: object = None) -> bytes:
    """An INCEpTION-like project export of results[0]: INITIAL_CAS holds the model's spans, each
    user's CAS holds those of the result given (None: the INITIAL_CAS unchanged)."""
    ts = inception.type_system()
    doc = results[0].document.id
    def user_zip(user: str, result: Result) -> bytes:
        return _zip_of({f"{user}.xmi": inception.document_xmi(result, ts).encode(), "typesystem.xml":
                        str(ts.to_xml()).encode()})
    entries = {f"annotation/{doc}.xmi/INITIAL_CAS.zip": user_zip("INITIAL_CAS", results[0])}
    for user, result in users.items():
        entries[f"annotation/{doc}.xmi/{user}.zip"] = user_zip(user, result or results[0])
    if project is not None:
        entries["exportedproject.json"] = json.dumps(project).encode()
    return _zip_of(entries)


def _changed(result: Result) -> Result:
    kept = Annotations(techniques=(), claims=result.claims, entities=result.entities)
    return Result(result.document, kept, result.analyzers)


def test_inception_cas_identical_to_initial_cas_is_skipped(tmp_path: Path, results: list[Result]) -> None:
    """A user's CAS is made from the INITIAL_CAS when they open the document: holding exactly
    the model's spans, it is nobody's review, unless --keep-empty."""
    path = tmp_path / "project.zip"
    path.write_bytes(_project_export(results, {"bob": None, "alice": _changed(results[0])}))
    found = reviews(list(inception.read_export(path)))
    assert [r.annotator for r in found] == ["alice"]
    assert {r.layer for r in found[0].spans} == {"claim", "actor"}
    kept = reviews(list(inception.read_export(path, keep_empty=True)))
    assert sorted(r.annotator or "" for r in kept) == ["alice", "bob"]


def test_inception_documents_not_finished_are_skipped(tmp_path: Path, results: list[Result]) -> None:
    doc = f"{results[0].document.id}.xmi"
    project = {"annotation_documents": [
        {"name": doc, "user": "alice", "state": "IN_PROGRESS"},
        {"name": doc, "user": "carol", "state": "FINISHED"},
    ]}
    changed = _changed(results[0])
    path = tmp_path / "project.zip"
    path.write_bytes(_project_export(results, {"alice": changed, "carol": changed, "dana": changed}, project))
    found = sorted(r.annotator or "" for r in reviews(list(inception.read_export(path))))
    assert found == ["carol", "dana"]  # dana is not listed: her state is unknown, her spans differ
    kept = sorted(r.annotator or "" for r in reviews(list(inception.read_export(path, keep_empty=True))))
    assert kept == ["alice", "carol", "dana"]


def test_import_command_keep_empty(tmp_path: Path, db: str, results: list[Result]) -> None:
    """`propscope import --keep-empty` keeps the doccano records nobody reviewed."""
    doc = results[1].document
    path = tmp_path / "bob.jsonl"
    record = {"text": doc.text, "label": [], "document_id": doc.id}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    plain = runner.invoke(app, ["import", str(path), "--format", "doccano", "--db", db, "--annotator", "bob"])
    assert plain.exit_code == 0 and "0 layers added" in plain.stderr
    kept = runner.invoke(app, [
        "import", str(path), "--format", "doccano", "--db", db, "--annotator", "bob", "--keep-empty"])
    assert kept.exit_code == 0 and "1 layers added" in kept.stderr, kept.output
