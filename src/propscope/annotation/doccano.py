"""doccano: JSONL for a sequence-labelling project, and reading doccano's JSONL export back.

Export: one line per document, `{"text", "label": [[start, end, name], ...], "document_id",
"text_sha256", title/outlet/...}`. doccano keeps every key besides `text` and `label` as the
example's metadata and writes it back at the top level of its export, so the ids survive the
round trip. doccano has one label set per project, so labels are flat: the technique names,
`claim`, and `actor:ROLE` (`_common.flat_label`).

Import: what doccano 1.8 writes (data_export/pipeline in its source): a zip holding one JSONL
file per member (`USERNAME.jsonl`), or `all.jsonl` when the project annotates collaboratively;
each line `{"id", "text", "label": [[start, end, name]], "Comments": [...], ...metadata}`, or,
in a project with relations, `"entities": [{"id", "label", "start_offset", "end_offset"}]` and
`"relations"`. doccano records no span text, so offsets are taken as code points (doccano's
backend is Python) and checked against the text's bounds only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from propscope.annotation import _common as common
from propscope.annotation import _zip
from propscope.annotation.records import ReviewedDocument
from propscope.document import Result
from propscope.errors import AnnotationError

TOOL = "doccano"
COLLABORATIVE = "all"  # doccano's file name when every member annotates the same labels
_HINT = "Export the sequence-labelling project from doccano as JSONL (the zip or a .jsonl inside it)."
_RECORD_HINT = 'A line is {"text": ..., "label": [[start, end, "name"], ...]} as doccano exports it.'


def export_jsonl(results: Iterable[Result]) -> bytes:
    """doccano sequence-labelling JSONL, one document a line."""
    return b"".join(common.json_bytes(line(result), indent=None) + b"\n" for result in results)


def line(result: Result) -> dict[str, Any]:
    """One JSONL record: text, flat [start, end, label] triples, and our ids as metadata."""
    labels = [[s.start, s.end, common.flat_label(s)] for s in common.model_spans(result)]
    return {"text": result.document.text, "label": labels, **common.document_fields(result)}


# ------------------------------------------------------------------------------ import


def read_export(path: Path, keep_empty: bool = False) -> Iterator[ReviewedDocument | AnnotationError]:
    """doccano's JSONL export, a zip of them, or a folder holding them: one review per line.

    The annotator is the file's name (doccano names each member's file after them), except in
    `all.jsonl` and a lone .jsonl file, which name nobody (the import's --annotator does).
    doccano writes every example into every member's file, so a record with no spans is a review
    nobody did and is skipped, unless `keep_empty` (a reviewer who removed every span).
    Raises E700 when the file cannot be read at all.
    """
    items = _read(path)
    yield from items if keep_empty else (i for i in items if not _empty(i))


def _empty(item: ReviewedDocument | AnnotationError) -> bool:
    return isinstance(item, ReviewedDocument) and not item.spans


def _read(path: Path) -> Iterator[ReviewedDocument | AnnotationError]:
    if path.is_dir():
        files = [(p.relative_to(path).as_posix(), p) for p in sorted(path.rglob("*.jsonl"))]
        yield from _members(path, [(name, common.read_file(p, TOOL, _HINT)) for name, p in files])
        return
    raw = common.read_file(path, TOOL, _HINT)
    if _zip.is_zip(raw):
        yield from _members(path, _zip_members(path, raw))
    else:
        yield from _lines(path, str(path), raw, annotator=None)


def _zip_members(path: Path, raw: bytes) -> list[tuple[str, bytes]]:
    """The .jsonl entries only, capped and read in chunks (`_zip.entries`)."""
    members = _zip.entries(path, raw, lambda name: name.endswith(".jsonl"), TOOL, _HINT)
    return sorted(members)


def _members(path: Path, files: list[tuple[str, bytes]]) -> Iterator[ReviewedDocument | AnnotationError]:
    if not files:
        raise common.unreadable(path, TOOL, "no .jsonl file in it", _HINT)
    for name, raw in files:
        stem = PurePosixPath(name).stem
        yield from _lines(path, f"{path}/{name}", raw, None if stem == COLLABORATIVE else stem)


def _lines(
    path: Path, where: str, raw: bytes, annotator: str | None
) -> Iterator[ReviewedDocument | AnnotationError]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise common.unreadable(path, TOOL, f"{where} is not UTF-8 ({exc})", _HINT) from exc
    whole = _whole_json(path, where, text)
    if whole is not None:  # a JSON export (a list of records) or one pretty-printed record
        for number, record in enumerate(whole, 1):
            source = f"{where}:record {number}"
            try:
                yield _review(_object(record, source), source, annotator)
            except AnnotationError as exc:
                yield exc
        return
    for number, row in enumerate(text.split("\n"), 1):
        if not row.strip():
            continue
        source = f"{where}:line {number}"
        try:
            yield _review(_record(row, source), source, annotator)
        except AnnotationError as exc:
            yield exc


def _whole_json(path: Path, where: str, text: str) -> list[Any] | None:
    """The records of a file that is one JSON value rather than JSON lines, else None."""
    if text.count("\n") <= 1 and not text.lstrip().startswith("["):
        return None  # one line: read as JSONL, so its error names the line
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    except RecursionError as exc:  # JSON nested deeper than the parser's stack
        raise common.unreadable(path, TOOL, f"{where} is JSON nested too deeply to read", _HINT) from exc
    return data if isinstance(data, list) else [data]


def _record(row: str, source: str) -> Mapping[str, Any]:
    try:
        record = json.loads(row)
    except json.JSONDecodeError as exc:
        raise _bad(source, f"not JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise _bad(source, "JSON nested too deeply to read") from exc
    return _object(record, source)


def _object(record: object, source: str) -> Mapping[str, Any]:
    if not isinstance(record, dict):
        raise _bad(source, "not a JSON object")
    return record


def _review(record: Mapping[str, Any], source: str, annotator: str | None) -> ReviewedDocument:
    text = record.get("text")
    if not isinstance(text, str):
        raise common.record_error(AnnotationError.E_NO_TEXT, source, field="text")
    spans = [
        common.reviewed_span(source, text, (start, end), *common.split_flat_label(label))
        for start, end, label in _triples(record, source)
    ]
    return ReviewedDocument(
        spans=common.unique_spans(spans),
        document_id=common.nonempty(record.get("document_id")),
        text_sha256=common.nonempty(record.get("text_sha256")) or common.text_sha256(text),
        text=text,
        annotator=annotator,
        source_format="doccano",
        source=source,
        meta=common.stringify({"doccano_id": record.get("id")}),
    )


def _triples(record: Mapping[str, Any], source: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of every span: `label` triples, or `entities` objects (relations)."""
    if "label" not in record and "entities" in record:
        return [_entity(item, source) for item in _listed(record["entities"], source)]
    return [_triple(item, source) for item in _listed(record.get("label", []), source)]


def _entity(item: object, source: str) -> tuple[int, int, str]:
    if not isinstance(item, dict):
        raise _bad(source, f"an entity is not an object: {_shown(item)}")
    return _checked([item.get("start_offset"), item.get("end_offset"), item.get("label")], item, source)


def _triple(item: object, source: str) -> tuple[int, int, str]:
    if not isinstance(item, list) or len(item) != 3:
        raise _bad(source, f"a span is not [start, end, label]: {_shown(item)}")
    return _checked(item, item, source)


def _checked(row: list[Any], item: object, source: str) -> tuple[int, int, str]:
    start, end, label = common.as_offset(row[0]), common.as_offset(row[1]), row[2]
    if start is None or end is None or not isinstance(label, str):
        raise _bad(source, f"a span needs integer offsets and a label: {_shown(item)}")
    return start, end, label


def _listed(items: object, source: str) -> list[Any]:
    if not isinstance(items, list):
        raise _bad(source, "the spans are not a list")
    return items


def _bad(source: str, reason: str) -> AnnotationError:
    return common.record_error(AnnotationError.E_RECORD, source, reason=reason, hint=_RECORD_HINT)


def _shown(item: object) -> str:
    return json.dumps(item, ensure_ascii=False)[:60]
