"""Label Studio: tasks JSON with the model's spans as predictions, its labelling config, and
reading Label Studio's JSON export (tasks with `annotations`) back.

A task is `{"data": {"text", "document_id", "text_sha256", title/outlet/url/published},
"predictions": [{"model_version", "score", "result": [...]}]}`; each result item is a region of
type `labels` on the `text` object, from one of three `<Labels>` controls named after the layers
(`technique`, `claim`, `actor`), with `value: {start, end, text, labels}` in code-point offsets
and the span's calibrated `score`. The config (`label_config()`) declares exactly those controls
and labels, so Label Studio shows the predictions for the reviewer to accept, correct or delete.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from propscope.annotation import _common as common
from propscope.annotation.records import LAYERS, ReviewedDocument
from propscope.document import Result
from propscope.errors import AnnotationError
from propscope.render import technique_info

TEXT_NAME = "text"  # the <Text> object every region points to (`to_name`)
TOOL = "Label Studio"
_HINT = "Export the project from Label Studio as JSON (not JSON-MIN or CSV)."
_RECORD_HINT = "Each task needs data.text and annotations[].result as Label Studio's JSON export writes them."
# Colours of the claim and actor labels (Okabe-Ito, like the technique palette).
_COLOURS = {"claim": "#56B4E9", "blamed": "#D55E00", "authority": "#0072B2", "neutral": "#999999"}


def label_config() -> str:
    """The labelling config (XML) for the exported tasks: one `<Labels>` control per layer.

    Label values are the names propscope stores (SemEval technique names, `claim`, the actor
    roles), so the export reads back exactly; the technique definition is the label's hint.
    """
    view = ET.Element("View")
    for layer in LAYERS:
        control = ET.SubElement(view, "Labels", name=layer, toName=TEXT_NAME, showInline="true")
        for label in common.LABELS[layer]:
            ET.SubElement(control, "Label", _label_attributes(label))
    ET.SubElement(view, "Text", name=TEXT_NAME, value="$" + TEXT_NAME)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def _label_attributes(label: str) -> dict[str, str]:
    if label in _COLOURS:
        return {"value": label, "background": _COLOURS[label]}
    info = technique_info(label)
    return {"value": label, "background": info.colour, "hint": info.definition}


def export_tasks(results: Iterable[Result]) -> bytes:
    """Label Studio tasks JSON (a list), one task per document, its spans as a prediction."""
    return common.json_bytes([task(result) for result in results])


def task(result: Result) -> dict[str, Any]:
    """One Label Studio task: the text with our ids in `data`, the model's spans as a prediction."""
    spans = common.model_spans(result)
    items = [_region(span) for span in spans]
    prediction: dict[str, Any] = {"model_version": common.model_version(result), "result": items}
    scores = [s.score for s in spans if s.layer == "technique" and s.score is not None]
    if scores:
        prediction["score"] = round(sum(scores) / len(scores), 4)
    data = {TEXT_NAME: result.document.text, **common.document_fields(result)}
    return {"data": data, "predictions": [prediction]}


def _region(span: common.ModelSpan) -> dict[str, Any]:
    key = f"{span.layer}|{span.label}|{span.start}|{span.end}"
    item: dict[str, Any] = {
        "id": common.text_sha256(key)[:10],  # stable: the same span gets the same region id
        "from_name": span.layer,
        "to_name": TEXT_NAME,
        "type": "labels",
        "value": {"start": span.start, "end": span.end, "text": span.text, "labels": [span.label]},
    }
    if span.score is not None:
        item["score"] = round(span.score, 4)
    return item


# ------------------------------------------------------------------------------ import


def read_export(path: Path, keep_empty: bool = False) -> Iterator[ReviewedDocument | AnnotationError]:
    """Label Studio's JSON export: one ReviewedDocument per annotation of each task.

    Tasks nobody annotated and annotations marked cancelled (skipped) are not reviews and give
    nothing; every other annotation is one a person submitted, even with no spans left, so
    `keep_empty` (the other importers' switch for reviews nobody did) changes nothing here.
    A bad task or annotation gives an AnnotationError naming it, and reading goes on.
    Raises E700 when the file is not a JSON export at all.
    """
    tasks = _load(path)
    for index, item in enumerate(tasks, 1):
        source = f"{path}:task {index}"
        if not isinstance(item, dict):
            yield _bad(source, "not an object")
            continue
        if item.get("id") is not None:
            source += f" (id {item['id']})"
        yield from _task_reviews(item, source)


def _load(path: Path) -> list[Any]:
    raw = common.read_file(path, TOOL, _HINT)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise common.unreadable(path, TOOL, f"not UTF-8 JSON: {exc}", _HINT) from exc
    except RecursionError as exc:  # JSON nested deeper than the parser's stack
        raise common.unreadable(path, TOOL, "JSON nested too deeply to read", _HINT) from exc
    if isinstance(data, dict):  # one task on its own, as the API returns it
        return [data]
    if not isinstance(data, list):
        raise common.unreadable(path, TOOL, f"a JSON {type(data).__name__}, not a list of tasks", _HINT)
    return data


def _task_reviews(item: Mapping[str, Any], source: str) -> Iterator[ReviewedDocument | AnnotationError]:
    data = item.get("data")
    if not isinstance(data, dict) or not isinstance(data.get(TEXT_NAME), str):
        if TEXT_NAME in item:  # JSON-MIN puts the text at the top level
            reason = "no data object: this looks like a JSON-MIN export"
            yield common.record_error(AnnotationError.E_RECORD, source, reason=reason, hint=_HINT)
        else:
            yield common.record_error(AnnotationError.E_NO_TEXT, source, field="data.text")
        return
    annotations = item.get("annotations") or []
    if not isinstance(annotations, list):
        yield _bad(source, "annotations is not a list")
        return
    for number, annotation in enumerate(annotations, 1):
        where = f"{source}, annotation {number}"
        try:
            review = _review(item, data, annotation, where)
        except AnnotationError as exc:
            yield exc
            continue
        if review is not None:
            yield review


def _review(
    item: Mapping[str, Any], data: Mapping[str, Any], annotation: object, source: str
) -> ReviewedDocument | None:
    """One annotation as a review; None for a cancelled (skipped) one."""
    if not isinstance(annotation, dict):
        raise _bad(source, "not an object")
    if annotation.get("was_cancelled"):
        return None
    result = annotation.get("result")
    if not isinstance(result, list):
        raise _bad(source, "result is not a list")
    text = str(data[TEXT_NAME])
    regions = [found for region in result for found in _regions(region, source)]
    spans = common.reviewed_spans(text, regions)
    meta = {
        "task_id": item.get("id"),
        "annotation_id": annotation.get("id"),
        "created_at": annotation.get("created_at"),
        "updated_at": annotation.get("updated_at"),
        "reviewed_at": annotation.get("updated_at") or annotation.get("created_at"),
        "ground_truth": "true" if annotation.get("ground_truth") else None,
    }
    return ReviewedDocument(
        spans=common.unique_spans(spans),
        document_id=common.nonempty(data.get("document_id")),
        text_sha256=common.nonempty(data.get("text_sha256")) or common.text_sha256(text),
        text=text,
        annotator=_annotator(annotation.get("completed_by")),
        source_format="labelstudio",
        source=source,
        meta=common.stringify(meta),
    )


def _regions(region: object, source: str) -> list[common.Region]:
    """The spans of one result item, one per label; items that are not `labels` regions (a
    relation, a choice, a comment box the reviewer added to the config) give none."""
    if not isinstance(region, dict) or str(region.get("type", "")).lower() != "labels":
        return []
    value = region.get("value")
    where = f"{source}, region {region.get('id', '?')}"
    if not isinstance(value, dict):
        raise _bad(where, "no value")
    start, end = common.as_offset(value.get("start")), common.as_offset(value.get("end"))
    labels = value.get("labels")
    if start is None or end is None or not isinstance(labels, list) or not labels:
        raise _bad(where, "value needs integer start and end and a list of labels")
    layer = str(region.get("from_name", ""))
    quoted = value.get("text") if isinstance(value.get("text"), str) else None
    return [common.Region(where, (start, end), layer, str(label), quoted) for label in labels]


def _annotator(completed_by: object) -> str | None:
    """Who annotated: the e-mail when the export expands the user, else Label Studio's user id."""
    if isinstance(completed_by, dict):
        email = completed_by.get("email")
        if isinstance(email, str) and email:
            return email
        completed_by = completed_by.get("id")
    if isinstance(completed_by, int | str) and not isinstance(completed_by, bool) and str(completed_by):
        return f"labelstudio-user-{completed_by}"
    return None


def _bad(source: str, reason: str) -> AnnotationError:
    return common.record_error(AnnotationError.E_RECORD, source, reason=reason, hint=_RECORD_HINT)
